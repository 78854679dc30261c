"""Payments of invoices through providers (VNPay, VietQR bank transfer, cash at the counter)."""
