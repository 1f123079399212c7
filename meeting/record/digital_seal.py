"""The digital seal of a sealed record: a PAdES signature any PDF reader checks, made with pyHanko.

When a key is configured (`meeting.settings.SealSettings`: a PKCS#12 file or a key on a PKCS#11 token), the PDF
made at sealing is signed once, with the signing time of that moment, and those exact bytes are stored and served
from then on. The PDF carries the meeting's journal export (`journal_export`: the events `GET
/api/meetings/{id}/journal` returns, with the head hash) as an embedded file, so the file proves its own content
offline: any changed byte breaks the signature.

Verification (`check_signature`) uses pyHanko's validator, never crypto of our own: is the signed range intact,
does the certificate chain to the configured trust roots, who signed and when.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meeting.journal import RecordedEvent, canonical

if TYPE_CHECKING:
    from asn1crypto import x509
    from pyhanko.sign.signers import Signer

    from meeting.settings import SealSettings

log = logging.getLogger(__name__)
_TOKEN_LOCK = threading.Lock()

FIELD_NAME = "chibo-seal"
JOURNAL_MIME = "application/json"
REASON = "Niêm phong biên bản / Sealed record"


class SealingFailed(Exception):
    """The configured key could not sign (token removed, PIN locked, library gone): nothing is sealed."""


@dataclass(frozen=True)
class SignedPdf:
    data: bytes
    signer: str  # the certificate's subject common name
    signed_at: datetime


# -- the journal carried in the file ---------------------------------------------------------------------------------
def journal_file_name(meeting_id: int) -> str:
    return f"nhat-ky-cuoc-hop-{meeting_id}.json"


def journal_export(meeting_id: int, recorded: list[RecordedEvent]) -> dict[str, Any]:
    """The journal as the API gives it (`GET /api/meetings/{id}/journal`: its events) with the head it ends at."""
    return {
        "meeting_id": meeting_id,
        "journal_seq": recorded[-1].seq if recorded else 0,
        "journal_head": recorded[-1].hash if recorded else None,
        "events": [event.to_json() for event in recorded],
    }


def journal_bytes(meeting_id: int, recorded: list[RecordedEvent]) -> bytes:
    return canonical(journal_export(meeting_id, recorded))


# -- the key -----------------------------------------------------------------------------------------------------------
def _common_name(cert: x509.Certificate) -> str:
    subject = cert.subject.native
    return str(subject.get("common_name") or cert.subject.human_friendly)


def _check_validity(cert: x509.Certificate, origin: str) -> None:
    now = datetime.now(UTC)
    validity = cert["tbs_certificate"]["validity"]
    not_before, not_after = validity["not_before"].native, validity["not_after"].native
    if not (not_before <= now <= not_after):
        raise SystemExit(
            f"{origin}: chứng thư số của {_common_name(cert)} chỉ có hiệu lực từ {not_before:%Y-%m-%d} đến "
            f"{not_after:%Y-%m-%d} / the certificate is valid only from {not_before:%Y-%m-%d} to {not_after:%Y-%m-%d}"
        )


@lru_cache(maxsize=4)
def _pkcs12_signer(path: str, password: str) -> Signer:
    """The key file is read once per process (it does not go away as a token does)."""
    from cryptography.hazmat.primitives.serialization import pkcs12
    from pyhanko.sign.signers import SimpleSigner

    origin = f"CHIBO_SEAL_PKCS12={path!r}"
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SystemExit(f"{origin}: không đọc được tệp / cannot read the file ({exc.strerror})") from None
    secret = password.encode() if password else None
    try:
        key, cert, _ = pkcs12.load_key_and_certificates(data, secret)
    except ValueError:
        raise SystemExit(
            f"{origin}: sai mật khẩu (CHIBO_SEAL_PKCS12_PASSWORD) hoặc không phải tệp PKCS#12 / "
            "wrong password (CHIBO_SEAL_PKCS12_PASSWORD) or not a PKCS#12 file"
        ) from None
    if key is None or cert is None:
        raise SystemExit(f"{origin}: tệp không có khóa và chứng thư số / the file lacks the key or its certificate")
    signer = SimpleSigner.load_pkcs12_data(data, other_certs=(), passphrase=secret)
    if signer is None or signer.signing_cert is None:  # pragma: no cover - cryptography read it just above
        raise SystemExit(f"{origin}: pyHanko không đọc được tệp / pyHanko cannot read the file")
    _check_validity(signer.signing_cert, origin)
    return signer


@contextmanager
def _pkcs11_signer(seal: SealSettings) -> Iterator[Signer]:
    """A session on the token for one signature: a token pulled out and plugged back in works again next time.
    One signature at a time: many USB tokens take one session only, and meetings are sealed seconds apart."""
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

    with _TOKEN_LOCK:
        session = open_pkcs11_session(
            seal.pkcs11_module, token_criteria=TokenCriteria(label=seal.pkcs11_token), user_pin=seal.pkcs11_pin
        )
        try:
            yield PKCS11Signer(session, key_label=seal.pkcs11_key, cert_label=seal.pkcs11_cert or seal.pkcs11_key)
        finally:
            session.close()


@contextmanager
def _signer(seal: SealSettings) -> Iterator[Signer]:
    if seal.pkcs12:
        yield _pkcs12_signer(seal.pkcs12, seal.pkcs12_password)
    else:
        with _pkcs11_signer(seal) as signer:
            yield signer


def check_settings(seal: SealSettings) -> None:
    """At start-up: open the key (and read its certificate) and the trust roots, or stop with the reason."""
    if seal.trust_roots:
        trust_roots(seal.trust_roots)
    if seal.pkcs12:
        _pkcs12_signer(seal.pkcs12, seal.pkcs12_password)
    elif seal.pkcs11_module:
        origin = f"CHIBO_SEAL_PKCS11_MODULE={seal.pkcs11_module!r}"
        if not Path(seal.pkcs11_module).is_file():
            raise SystemExit(f"{origin}: không có tệp thư viện này / no such library file")
        try:
            with _pkcs11_signer(seal) as signer:
                cert = signer.signing_cert
        except SystemExit:
            raise
        except Exception as exc:  # the token's errors come in many types: each one means "cannot sign"
            raise SystemExit(
                f"{origin}: không mở được khóa {seal.pkcs11_key!r} trên thiết bị {seal.pkcs11_token!r} (kiểm tra "
                f"thiết bị, PIN, nhãn) / cannot open key {seal.pkcs11_key!r} on token {seal.pkcs11_token!r} "
                f"(check the token, the PIN, the labels): {type(exc).__name__} {exc}".rstrip()
            ) from None
        if cert is None:
            raise SystemExit(f"{origin}: không thấy chứng thư số trên thiết bị / no certificate on the token")
        _check_validity(cert, origin)


@lru_cache(maxsize=4)
def trust_roots(paths: str) -> tuple[x509.Certificate, ...]:
    from pyhanko.keys import load_certs_from_pemder

    files = [p.strip() for p in paths.split(",") if p.strip()]
    try:
        roots = tuple(load_certs_from_pemder(files))
    except (OSError, ValueError) as exc:
        raise SystemExit(
            f"CHIBO_SEAL_TRUST_ROOTS={paths!r}: không đọc được chứng thư / cannot read the certificates ({exc})"
        ) from None
    if not roots:
        raise SystemExit(f"CHIBO_SEAL_TRUST_ROOTS={paths!r}: không có chứng thư nào / holds no certificate")
    return roots


# -- signing -----------------------------------------------------------------------------------------------------------
def sign_pdf(seal: SealSettings, pdf: bytes) -> SignedPdf:
    """Sign the whole file (an invisible PAdES signature in an incremental update); raise `SealingFailed`."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES, reason=REASON
    )
    try:
        with _signer(seal) as signer:
            writer = IncrementalPdfFileWriter(BytesIO(pdf))
            signed = signers.PdfSigner(metadata, signer=signer).sign_pdf(writer).getvalue()
            cert = signer.signing_cert
    except SystemExit as exc:  # a PKCS#12 file gone since start-up
        raise SealingFailed(str(exc)) from None
    except Exception as exc:  # a token's errors come in many types: each one means "cannot sign now"
        log.warning("the digital seal could not sign", exc_info=True)
        raise SealingFailed(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
    embedded = _signatures(signed)[-1]
    return SignedPdf(signed, _common_name(cert), embedded.self_reported_timestamp or datetime.now(UTC))


# -- verification ------------------------------------------------------------------------------------------------------
def _reader(data: bytes):
    from pyhanko.pdf_utils.reader import PdfFileReader

    return PdfFileReader(BytesIO(data), strict=False)


def _signatures(data: bytes) -> list[Any]:
    return list(_reader(data).embedded_signatures)


def check_signature(data: bytes, roots: tuple[x509.Certificate, ...] = ()) -> dict[str, Any]:
    """What pyHanko's validator says of the file's last signature: `present`, `signer` (subject common name),
    `signed_at` (the signer's own time), `intact` (the signed bytes unchanged), `valid` (the signature checks
    out cryptographically), `covers_whole_file` (nothing appended after it), `trusted` (the certificate chains to
    one of `roots`), and `problem` when the file could not be read as a signed PDF."""
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    answer: dict[str, Any] = {
        "present": False,
        "signer": None,
        "signed_at": None,
        "intact": False,
        "valid": False,
        "covers_whole_file": False,
        "trusted": False,
        "problem": None,
    }
    if not data.startswith(b"%PDF-"):
        return answer
    try:
        signatures = _signatures(data)
        if not signatures:
            return answer
        embedded = signatures[-1]
        answer["present"] = True
        # Without configured roots, the signer's own certificate anchors the run: integrity is still checked,
        # trust is reported as not established (and pyHanko logs no failed path search on every check).
        anchors = list(roots) or [embedded.signer_cert]
        context = ValidationContext(trust_roots=anchors, allow_fetching=False, revocation_mode="soft-fail")
        status = validate_pdf_signature(embedded, context, skip_diff=True)
    except Exception as exc:  # a damaged file breaks the reader in many ways: each one means "not verified"
        answer["problem"] = f"{type(exc).__name__}: {exc}"[:300]
        return answer
    cert = status.signing_cert
    signed_at = status.signer_reported_dt
    answer.update(
        signer=_common_name(cert) if cert is not None else None,
        signed_at=signed_at.astimezone(UTC).isoformat() if signed_at else None,
        intact=bool(status.intact),
        valid=bool(status.intact and status.valid),
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        trusted=bool(roots) and bool(status.intact and status.valid and status.trusted),
    )
    return answer


def embedded_files(data: bytes) -> dict[str, bytes]:
    """The files a PDF carries (its /EmbeddedFiles name tree, flat as fpdf2 writes it): name -> bytes."""
    found: dict[str, bytes] = {}
    try:
        root = _reader(data).root
        names = root["/Names"]["/EmbeddedFiles"]["/Names"]
        for index in range(0, len(names) - 1, 2):
            spec = names[index + 1]
            found[str(names[index])] = spec["/EF"]["/F"].data
    except Exception:  # no attachments, or a damaged file: nothing to read
        return found
    return found


def embedded_journal(data: bytes, meeting_id: int) -> dict[str, Any] | None:
    raw = embedded_files(data).get(journal_file_name(meeting_id))
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
