"""Root conftest: the shared test fixtures for every member's tests and the cross-service tests."""

pytest_plugins = ["egov_shared.testing.plugin"]
