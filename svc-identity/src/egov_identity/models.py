"""Tables of svc-identity. The domain tables arrive with the service's own issue."""
