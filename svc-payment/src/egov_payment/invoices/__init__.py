"""Invoices: the fee obligations a payer owes an agency (a dossier's fees, or what a finance officer bills)."""
