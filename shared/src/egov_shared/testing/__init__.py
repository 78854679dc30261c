"""Helpers for tests: private servers for fault tests, a TCP proxy that can cut connections."""
