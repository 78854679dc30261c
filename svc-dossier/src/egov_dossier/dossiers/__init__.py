"""Dossiers of administrative procedures: the state machine, deadlines, history and the API."""
