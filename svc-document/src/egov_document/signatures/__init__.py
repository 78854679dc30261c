"""Signing as an agency for the other services, and verifying any signed PDF."""
