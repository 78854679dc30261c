"""PAdES signing and validation throughput on one core: signatures per second for a one-page decision with
RSA 3072 (the default) against RSA 2048 and EC P-256, an invisible signature and a visible one (the official's
signature image), then validations per second of a signed file. Key generation time is measured too, since the
service issues an agency's certificate on first use. Writes ``var/bench/document_signing.json``.

    uv run python bench/document_signing_bench.py [--signatures 25] [--validations 25]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from egov_document.signing import Appearance, DevelopmentCA, KeyType, SigningIdentity, sign_pdf, validate_pdf
from egov_document.signing.pki import generate_key
from egov_document.signing.samples import SAMPLE_SIGNATURE_BOX, sample_decision_pdf, sample_signature_image

AGENCY_CODE = "000.00.00.H56"
AGENCY = "Ủy ban nhân dân tỉnh Thanh Hóa"


def measure(action: Callable[[], object], count: int) -> dict[str, float]:
    """Wall-clock rate, and CPU time per call (steadier when other processes share the machine)."""
    action()  # warm up: imports, font registration, first-call caches
    timings: list[float] = []
    cpu_start = time.process_time()
    for _ in range(count):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    cpu = time.process_time() - cpu_start
    ordered = sorted(timings)
    return {
        "per_second": round(count / sum(timings), 2),
        "per_second_cpu": round(count / cpu, 2),
        "cpu_ms": round(cpu / count * 1000, 2),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000, 2),
        "count": count,
    }


def private_key_operation_ms(identity: SigningIdentity, count: int = 200) -> float:
    """One raw signature with the key: the only part of signing the key size changes."""
    key = identity.private_key
    digest = b"\x00" * 32
    start = time.perf_counter()
    for _ in range(count):
        if isinstance(key, rsa.RSAPrivateKey):
            key.sign(digest, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.sign(digest, ec.ECDSA(hashes.SHA256()))
    return round((time.perf_counter() - start) / count * 1000, 3)


def key_generation(key_type: KeyType, count: int) -> dict[str, float]:
    timings: list[float] = []
    for _ in range(count):
        start = time.perf_counter()
        generate_key(key_type)
        timings.append(time.perf_counter() - start)
    return {"mean_ms": round(statistics.fmean(timings) * 1000, 1), "max_ms": round(max(timings) * 1000, 1)}


def run(signatures: int, validations: int) -> dict[str, Any]:
    ca = DevelopmentCA.create()
    pdf = sample_decision_pdf()
    identities: dict[KeyType, SigningIdentity] = {
        key_type: ca.issue_agency(agency_code=AGENCY_CODE, agency_name=AGENCY, key_type=key_type)
        for key_type in ("rsa3072", "rsa2048", "ec-p256")
    }
    image = Appearance.signature_image(sample_signature_image(), box=SAMPLE_SIGNATURE_BOX, page=0)

    signing: dict[str, dict[str, float]] = {}
    for key_type, identity in identities.items():
        invisible = functools.partial(sign_pdf, pdf, identity, field_name="agency")
        visible = functools.partial(sign_pdf, pdf, identity, field_name="agency", appearance=image)
        signing[f"{key_type} invisible"] = measure(invisible, signatures)
        signing[f"{key_type} visible image"] = measure(visible, signatures)

    signed = sign_pdf(pdf, identities["rsa3072"], field_name="agency")
    twice = sign_pdf(signed, identities["rsa3072"], field_name="second")
    roots = [ca.certificate]
    for candidate in (signed, twice):
        report = validate_pdf(candidate, roots)
        if not report.valid:
            raise SystemExit(f"benchmark file does not validate: {report.reasons}")
    validation = {
        "one signature": measure(lambda: validate_pdf(signed, roots), validations),
        "two signatures": measure(lambda: validate_pdf(twice, roots), validations),
    }
    return {
        "document": {"pages": 1, "bytes": len(pdf), "signed_bytes": len(signed)},
        "profile": "PAdES B-B, SHA-256, RSA PKCS#1 v1.5 / ECDSA",
        "signing": signing,
        "validation_rsa3072": validation,
        "private_key_operation_ms": {
            key_type: private_key_operation_ms(identity) for key_type, identity in identities.items()
        },
        "key_generation": {
            key_type: key_generation(key_type, 5) for key_type in ("rsa3072", "rsa2048", "ec-p256")
        },
        "single_thread": True,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--signatures", type=int, default=25)
    parser.add_argument("--validations", type=int, default=25)
    args = parser.parse_args()
    report = run(args.signatures, args.validations)
    out = Path("var/bench")
    out.mkdir(parents=True, exist_ok=True)
    (out / "document_signing.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(report, indent=2, ensure_ascii=False))  # noqa: T201


if __name__ == "__main__":
    main()
