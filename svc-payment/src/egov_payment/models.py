"""Tables of svc-payment. The domain tables arrive with the service's own issue."""
