"""egov_shared."""
