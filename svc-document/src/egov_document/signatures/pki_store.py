"""Creating and loading the PKI kept in the database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from egov_document.signatures.models import CertificateAuthority, SigningCredential
from egov_document.signing.pki import (
    DevelopmentCA,
    SigningIdentity,
    certificates_to_pem,
    load_certificate,
    load_certificates,
)
from egov_shared.counters import next_in_series
from egov_shared.crypto import SecretBox
from egov_shared.problems import Conflict


async def ensure_development_ca(session: AsyncSession, box: SecretBox) -> None:
    """Create the development root CA on first start (embedded and demo deployments)."""
    await next_in_series(session, "pki-lock")  # replicas starting together take turns
    existing = await session.scalar(
        select(CertificateAuthority.id).where(CertificateAuthority.kind == "development")
    )
    if existing is not None:
        return
    ca = await asyncio.to_thread(DevelopmentCA.create)
    session.add(
        CertificateAuthority(
            kind="development",
            certificate_pem=ca.certificate_pem().decode(),
            private_key_encrypted=box.encrypt(ca.private_key_pem()),
        )
    )


async def import_configured_chain(session: AsyncSession, chain_pem: bytes) -> int:
    """Trust the government CA chain given in configuration (its roots); returns how many were added."""
    known = set((await session.scalars(select(CertificateAuthority.certificate_pem))).all())
    added = 0
    for certificate in load_certificates(chain_pem):
        pem = certificates_to_pem([certificate]).decode()
        if pem not in known:
            session.add(CertificateAuthority(kind="configured", certificate_pem=pem))
            added += 1
    return added


async def trust_roots(session: AsyncSession) -> list[x509.Certificate]:
    return [
        load_certificate(pem.encode())
        for pem in (await session.scalars(select(CertificateAuthority.certificate_pem)))
    ]


async def _development_ca(session: AsyncSession, box: SecretBox) -> DevelopmentCA | None:
    row = await session.scalar(select(CertificateAuthority).where(CertificateAuthority.kind == "development"))
    if row is None or row.private_key_encrypted is None:
        return None
    return DevelopmentCA.from_pem(row.certificate_pem.encode(), box.decrypt(row.private_key_encrypted))


async def agency_identity(
    session: AsyncSession, box: SecretBox, agency_code: str, agency_name: str
) -> SigningIdentity:
    """The agency's signing identity (its seal); in a development PKI one is issued on first use."""

    def issue(ca: DevelopmentCA) -> SigningIdentity:
        return ca.issue_agency(agency_code=agency_code, agency_name=agency_name)

    return await _identity(session, box, "agency", agency_code, agency_name, issue)


async def official_identity(
    session: AsyncSession,
    box: SecretBox,
    *,
    subject: str,
    full_name: str,
    position: str,
    agency_code: str,
    agency_name: str,
) -> SigningIdentity:
    """An official's personal signing identity; in a development PKI one is issued on first use."""

    def issue(ca: DevelopmentCA) -> SigningIdentity:
        return ca.issue_official(
            full_name=full_name, position=position, agency_code=agency_code, agency_name=agency_name
        )

    return await _identity(session, box, "official", subject, full_name, issue)


async def _identity(
    session: AsyncSession,
    box: SecretBox,
    owner_kind: str,
    owner_ref: str,
    display_name: str,
    issue: Callable[[DevelopmentCA], SigningIdentity],
) -> SigningIdentity:
    row = await session.scalar(
        select(SigningCredential).where(
            SigningCredential.owner_kind == owner_kind,
            SigningCredential.owner_ref == owner_ref,
            SigningCredential.active,
        )
    )
    if row is not None:
        return SigningIdentity.from_pem(
            row.certificate_pem.encode(),
            box.decrypt(row.private_key_encrypted),
            row.chain_pem.encode(),
            display_name=row.display_name,
        )
    ca = await _development_ca(session, box)
    if ca is None:
        raise Conflict(
            f"{display_name} chưa có chứng thư số; hãy nạp chứng thư do CA cấp.",
            code="signature.no_credential",
        )
    identity = await asyncio.to_thread(issue, ca)
    row = SigningCredential(
        owner_kind=owner_kind,
        owner_ref=owner_ref,
        display_name=display_name,
        certificate_pem=identity.certificate_pem().decode(),
        chain_pem=identity.chain_pem().decode(),
        private_key_encrypted=box.encrypt(identity.private_key_pem()),
        expires_at=identity.certificate.not_valid_after_utc,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # issued at the same moment by another request: use that one
        return await _identity(session, box, owner_kind, owner_ref, display_name, issue)
    return identity
