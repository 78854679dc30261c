"""egov_payment."""
