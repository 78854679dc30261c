"""Tables of svc-feedback. The domain tables arrive with the service's own issue."""
