"""Bank credits to the receiving account: the signed notification and the statement import.

A credit is matched to a VietQR payment by the payment reference in its memo and by its amount. The bank's
``transaction_id`` is unique, so a notification delivered twice (or a statement line already notified) is
recognised and changes nothing. A credit that matches nothing is kept as ``unmatched`` for finance (the daily
report lists it); money is never dropped.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import uuid

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from egov_payment import ledger
from egov_payment.context import PaymentContext
from egov_payment.invoices import repository as invoices
from egov_payment.invoices.rules import new_reference
from egov_payment.payments.models import BankCredit, CreditStatus, Payment, PaymentStatus
from egov_payment.payments.schemas import BankCreditIn, BankCreditResult
from egov_payment.payments.service import apply_success, by_reference, lock_payment
from egov_payment.receipts.models import Receipt
from egov_shared.problems import Unprocessable
from egov_shared.uow import UnitOfWork

SIGNATURE_PREFIX = "sha256="
STATEMENT_COLUMNS = ("transaction_id", "account", "amount", "memo", "credited_at")
MAX_STATEMENT_ROWS = 10_000
_REFERENCE = re.compile(r"TT[2-9A-HJKMNP-Z]{10}")


def signature(secret: str, body: bytes) -> str:
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """``X-Signature: sha256=<hex HMAC-SHA256 of the raw body>``, compared in constant time."""
    if not header:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().lower().encode())


def references_in(memo: str) -> list[str]:
    """Payment references a transfer memo may hold, likeliest first. Banks add prefixes, change case and
    break words with spaces or punctuation, so a whole word is tried first, then every place in the memo's
    letters and digits run together (the caller keeps the first that names a payment)."""
    upper = memo.upper()
    words = re.findall(rf"(?<![0-9A-Z])({_REFERENCE.pattern})(?![0-9A-Z])", upper)
    joined = re.sub(r"[^0-9A-Z]", "", upper)
    glued = re.findall(rf"(?=({_REFERENCE.pattern}))", joined)
    return list(dict.fromkeys([*words, *glued]))


async def receive_credit(
    uow: UnitOfWork, context: PaymentContext, credit: BankCreditIn, *, source: str
) -> tuple[BankCreditResult, Receipt | None]:
    """Record one credit and apply it to its payment if it matches; does not commit."""
    session = uow.session
    existing: BankCredit | None = await session.scalar(
        select(BankCredit).where(BankCredit.transaction_id == credit.transaction_id)
    )
    if existing is not None:
        return _result(existing, duplicate=True), None
    row = BankCredit(
        id=uuid.uuid4(),
        transaction_id=credit.transaction_id,
        account=credit.account,
        amount_vnd=credit.amount,
        memo=credit.memo,
        credited_at=credit.credited_at,
        source=source,
        status=CreditStatus.UNMATCHED.value,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        # The same transaction, notified at this very moment by another request.
        raced = await session.scalar(
            select(BankCredit).where(BankCredit.transaction_id == credit.transaction_id)
        )
        if raced is None:  # pragma: no cover
            raise
        return _result(raced, duplicate=True), None

    reason, payment = await _match(uow, context, credit)
    receipt = None
    if payment is None:
        row.reason = reason
        ledger.record(
            session,
            ledger.Entry.CREDIT_UNMATCHED,
            provider="vietqr",
            amount_vnd=credit.amount,
            transaction_id=credit.transaction_id,
            memo=credit.memo[:120],
            reason=reason,
        )
        return _result(row), None
    invoice = await invoices.lock(session, payment.invoice_id)
    locked = await lock_payment(session, payment.id)
    if invoice is None or locked is None:  # pragma: no cover - foreign keys forbid it
        raise LookupError(payment.id)
    if locked.status == PaymentStatus.SUCCEEDED:
        # The same QR paid twice (two transfers): the second is a payment of its own, an overpayment.
        locked = Payment(
            id=uuid.uuid4(),
            reference=new_reference("TT"),
            invoice_id=invoice.id,
            agency_code=invoice.agency_code,
            provider="vietqr",
            amount_vnd=credit.amount,
            status=PaymentStatus.PENDING.value,
            overpayment=False,
            refunded_vnd=0,
            payer_id=payment.payer_id,
            payer_name=payment.payer_name,
            created_by=f"bank:{credit.transaction_id}"[:64],
        )
        session.add(locked)
        await session.flush()
    receipt = await apply_success(
        uow,
        context,
        invoice=invoice,
        payment=locked,
        transaction_no=credit.transaction_id,
        paid_at=credit.credited_at,
    )
    row.status = CreditStatus.MATCHED.value
    row.payment_id = locked.id
    return _result(row), receipt


async def _match(
    uow: UnitOfWork, context: PaymentContext, credit: BankCreditIn
) -> tuple[str, Payment | None]:
    if credit.account != context.settings.vietqr_account:
        return "wrong_account", None
    references = references_in(credit.memo)
    if not references:
        return "no_reference", None
    payment = None
    for reference in references:
        payment = await by_reference(uow.session, reference)
        if payment is not None and payment.provider == "vietqr":
            break
    else:
        return "unknown_reference", None
    assert payment is not None
    if payment.amount_vnd != credit.amount:
        return "amount_mismatch", None
    return "", payment


def _result(row: BankCredit, *, duplicate: bool = False) -> BankCreditResult:
    return BankCreditResult(
        transaction_id=row.transaction_id,
        status=row.status,
        reason=row.reason,
        payment_id=row.payment_id,
        duplicate=duplicate,
    )


def parse_statement(text: str) -> list[BankCreditIn]:
    """A statement CSV (header ``transaction_id,account,amount,memo,credited_at``) as credits; any bad row
    refuses the whole file (422 with each row's error), so an import is all or nothing."""
    try:
        return _statement_credits(text)
    except csv.Error as exc:  # a stray carriage return in a field, say: the file is not CSV, not our failure
        raise Unprocessable(
            "Tệp sao kê không phải CSV hợp lệ: " + str(exc), code="statement.invalid_csv"
        ) from exc


def _statement_credits(text: str) -> list[BankCreditIn]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [column for column in STATEMENT_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise Unprocessable(
            "Tệp sao kê thiếu cột: " + ", ".join(missing) + ".",
            code="statement.missing_columns",
            errors=[{"field": column, "message": "Thiếu cột."} for column in missing],
        )
    credits: list[BankCreditIn] = []
    errors: list[dict[str, str]] = []
    for line_number, row in enumerate(reader, start=2):
        if len(credits) + len(errors) >= MAX_STATEMENT_ROWS:
            raise Unprocessable(f"Tệp sao kê quá {MAX_STATEMENT_ROWS} dòng.", code="statement.too_long")
        amount = (row.get("amount") or "").strip()
        try:
            credits.append(
                BankCreditIn(
                    transaction_id=(row.get("transaction_id") or "").strip(),
                    account=(row.get("account") or "").strip(),
                    amount=int(amount) if amount.isascii() and amount.isdigit() else -1,
                    memo=row.get("memo") or "",
                    credited_at=(row.get("credited_at") or "").strip(),
                )
            )
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in error["loc"]) for error in exc.errors())
            errors.append({"field": f"line {line_number}", "message": f"Sai giá trị: {fields}"})
    if errors:
        raise Unprocessable(
            "Tệp sao kê có dòng không hợp lệ; chưa dòng nào được ghi nhận.",
            code="statement.invalid_rows",
            errors=errors,
        )
    return credits
