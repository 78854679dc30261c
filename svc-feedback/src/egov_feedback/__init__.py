"""egov_feedback."""
