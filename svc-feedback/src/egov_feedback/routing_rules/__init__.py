"""Routing overrides: administrators send one area's reports of a category to another agency."""
