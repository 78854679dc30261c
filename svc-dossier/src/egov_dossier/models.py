"""Tables of svc-dossier. The domain tables arrive with the service's own issue."""
