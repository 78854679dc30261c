"""Open311 partners and their API keys (stored as SHA-256 digests, never in clear)."""
