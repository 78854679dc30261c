"""Electronic receipts (biên lai điện tử): issued with a payment, signed as the agency, never edited."""
