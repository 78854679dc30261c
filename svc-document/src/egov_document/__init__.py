"""egov_document."""
