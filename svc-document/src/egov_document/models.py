"""Tables of svc-document. The domain tables arrive with the service's own issue."""
