"""egov_gateway."""
