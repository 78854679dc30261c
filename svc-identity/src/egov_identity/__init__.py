"""egov_identity."""
