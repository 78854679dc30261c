"""Every table of svc-payment, imported together so the metadata is complete (migrations, tests)."""

from egov_payment.invoices.models import Invoice
from egov_payment.ledger import LedgerEntry
from egov_payment.payments.models import BankCredit, Payment, Refund
from egov_payment.receipts.models import Receipt

__all__ = ["BankCredit", "Invoice", "LedgerEntry", "Payment", "Receipt", "Refund"]
