"""The deployment's PKI in the database: the CA that issues signing certificates, and each signer's credential.

Private keys are stored encrypted under the key-encryption key (DESIGN §3), so every replica signs the same way.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Boolean, LargeBinary, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from egov_document.db import Base
from egov_shared.db import UTCDateTime, utcnow


class CertificateAuthority(Base):
    """A trusted root: the development CA (with its key, so it can issue) or a configured one (certificate only)."""

    __tablename__ = "certificate_authorities"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(20))  # development | configured
    certificate_pem: Mapped[str] = mapped_column(Text)
    private_key_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SigningCredential(Base):
    """A signer's certificate and encrypted key: an agency (its seal) or an official (their signature)."""

    __tablename__ = "signing_credentials"
    __table_args__ = (UniqueConstraint("owner_kind", "owner_ref", "active_key"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_kind: Mapped[str] = mapped_column(String(10))  # agency | official
    owner_ref: Mapped[str] = mapped_column(String(64))  # agency code, or the official's subject id
    display_name: Mapped[str] = mapped_column(String(300))
    certificate_pem: Mapped[str] = mapped_column(Text)
    chain_pem: Mapped[str] = mapped_column(Text)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    # "active" for the one in use; older ones keep their row for the record (NULL, so the constraint allows many).
    active_key: Mapped[str | None] = mapped_column(String(6), default="active")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SignatureImage(Base):
    """The image a visible signature shows (Decree 30): an official's handwritten signature (blue) or an
    agency's seal (red), transparent PNG."""

    __tablename__ = "signature_images"
    __table_args__ = (UniqueConstraint("owner_kind", "owner_ref"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_kind: Mapped[str] = mapped_column(String(10))  # agency | official
    owner_ref: Mapped[str] = mapped_column(String(64))
    png: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
