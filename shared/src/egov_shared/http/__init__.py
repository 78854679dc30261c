"""HTTP building blocks shared by every service: app factory, problems, idempotency, ETags, pagination."""
