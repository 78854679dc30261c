"""egov_dossier."""
