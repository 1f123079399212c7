"""A test certificate authority and a signing key on a SoftHSM2 token, for tests of the digital seal.

Made in the test run, nothing downloaded: a root CA and a signer certificate it issued (`cryptography`), the
signer's key and certificate imported into a fresh SoftHSM2 token (Debian's softhsm2, in a temporary folder with
its own SOFTHSM2_CONF) with opensc's pkcs11-tool, and the same key as a PKCS#12 file.

API (import from `tests.sealing`):

- `seal_authority` (pytest fixture, session scope) -> `SealAuthority`, made once per test run.
  To use it in a test module: `from tests.sealing import seal_authority  # noqa: F401` (or depend on it from a
  fixture of your own).
- `SealAuthority`:
  - `ca_cert` / `ca_pem`: the root CA (cryptography `Certificate`, and its PEM file path);
  - `signer_name`: the signer certificate's common name (what a PDF reader shows as the signer);
  - `pkcs11` / `pkcs12`: `meeting.settings.SealSettings` signing with the token / the PKCS#12 file, both
    trusting `ca_pem` (`trust_roots`); pass one as `Settings(..., seal=...)` (the browser tests' server takes it
    from the `live_server_seal` fixture: override that fixture in your module to return one of these);
  - `env(kind)`: the same settings as environment variables (`CHIBO_SEAL_*`), `kind` "pkcs11" or "pkcs12".
- `validate_sealed_pdf(pdf_bytes, ca_cert)` -> `SealedPdfCheck`: pyHanko's validator on the file's signature with
  `ca_cert` as the only trust root, plus the journal the file carries. Its fields: `intact`, `valid`, `trusted`,
  `covers_whole_file` (no byte added after the signature), `pades` (PAdES subfilter `/ETSI.CAdES.detached`),
  `signer` (common name), `signed_at`, `journal` (the embedded journal export as a dict, or None), and `ok`
  (all of intact, valid, trusted, covers_whole_file and pades).
- `pdfsig_says(pdf_bytes)` -> str: what poppler's pdfsig (a PDF reader that is not pyHanko) reports of the file's
  signatures, e.g. "Signature Validation: Signature is Valid." or "Digest Mismatch.".
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from meeting.record import digital_seal
from meeting.settings import SealSettings

SOFTHSM_MODULE_PATHS = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")
TOKEN_LABEL = "chibo-test-token"
KEY_LABEL = "chibo-seal"
PIN = "246810"
SO_PIN = "13579111"
PKCS12_PASSWORD = "mat-khau-tep-khoa"
SIGNER_NAME = "Đảng ủy xã Tân Lập (thử nghiệm)"


@dataclass(frozen=True)
class SealAuthority:
    ca_cert: x509.Certificate
    ca_pem: Path
    signer_cert: x509.Certificate
    signer_name: str
    pkcs11: SealSettings
    pkcs12: SealSettings

    def env(self, kind: str = "pkcs11") -> dict[str, str]:
        seal = self.pkcs11 if kind == "pkcs11" else self.pkcs12
        names = {
            "pkcs12": "CHIBO_SEAL_PKCS12",
            "pkcs12_password": "CHIBO_SEAL_PKCS12_PASSWORD",
            "pkcs11_module": "CHIBO_SEAL_PKCS11_MODULE",
            "pkcs11_token": "CHIBO_SEAL_PKCS11_TOKEN",
            "pkcs11_key": "CHIBO_SEAL_PKCS11_KEY",
            "pkcs11_cert": "CHIBO_SEAL_PKCS11_CERT",
            "pkcs11_pin": "CHIBO_SEAL_PKCS11_PIN",
            "trust_roots": "CHIBO_SEAL_TRUST_ROOTS",
        }
        return {env: getattr(seal, attr) for attr, env in names.items() if getattr(seal, attr)}


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "chibo test"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_ca(common_name: str = "chibo Test Root CA") -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_signer(
    ca_key: rsa.RSAPrivateKey, ca_cert: x509.Certificate, common_name: str = SIGNER_NAME
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def softhsm_module() -> str:
    module = next((path for path in SOFTHSM_MODULE_PATHS if Path(path).is_file()), None)
    assert module is not None, "SoftHSM2 is missing: run `bash scripts/ensure-system-packages test`"
    return module


def _run(*args: str) -> None:
    tool = shutil.which(args[0])
    assert tool is not None, f"{args[0]} is missing: run `bash scripts/ensure-system-packages test`"
    done = subprocess.run([tool, *args[1:]], capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert done.returncode == 0, f"{' '.join(args[:3])}: {done.stdout}{done.stderr}"


def make_token(folder: Path, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> str:
    """A SoftHSM2 token in `folder` holding the key and its certificate under KEY_LABEL; returns the module path.

    SoftHSM reads SOFTHSM2_CONF when its library is first loaded in a process, so it is set for the whole test
    run (the token folder lives as long as the run)."""
    tokens = folder / "tokens"
    tokens.mkdir(parents=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    module = softhsm_module()
    _run("softhsm2-util", "--init-token", "--free", "--label", TOKEN_LABEL, "--pin", PIN, "--so-pin", SO_PIN)
    key_der, cert_der = folder / "key.der", folder / "cert.der"
    key_der.write_bytes(
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_der.write_bytes(cert.public_bytes(serialization.Encoding.DER))
    common = ["pkcs11-tool", "--module", module, "--token-label", TOKEN_LABEL, "--login", "--pin", PIN]
    _run(*common, "--write-object", str(key_der), "--type", "privkey", "--label", KEY_LABEL, "--id", "01")
    _run(*common, "--write-object", str(cert_der), "--type", "cert", "--label", KEY_LABEL, "--id", "01")
    key_der.unlink()  # the key lives on the token (and in the PKCS#12 file) only
    return module


def write_pkcs12(path: Path, key: rsa.RSAPrivateKey, cert: x509.Certificate, ca_cert: x509.Certificate) -> Path:
    """The key, its certificate and the CA's in a PKCS#12 file locked with PKCS12_PASSWORD."""
    encryption = serialization.BestAvailableEncryption(PKCS12_PASSWORD.encode())
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"chibo-seal", key, cert, [ca_cert], encryption))
    return path


def make_authority(folder: Path) -> SealAuthority:
    ca_key, ca_cert = make_ca()
    key, cert = make_signer(ca_key, ca_cert)
    ca_pem = folder / "ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    p12 = write_pkcs12(folder / "seal.p12", key, cert, ca_cert)
    module = make_token(folder / "softhsm", key, cert)
    return SealAuthority(
        ca_cert=ca_cert,
        ca_pem=ca_pem,
        signer_cert=cert,
        signer_name=SIGNER_NAME,
        pkcs11=SealSettings(
            pkcs11_module=module,
            pkcs11_token=TOKEN_LABEL,
            pkcs11_key=KEY_LABEL,
            pkcs11_pin=PIN,
            trust_roots=str(ca_pem),
        ),
        pkcs12=SealSettings(pkcs12=str(p12), pkcs12_password=PKCS12_PASSWORD, trust_roots=str(ca_pem)),
    )


@pytest.fixture(scope="session")
def seal_authority(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SealAuthority]:
    yield make_authority(tmp_path_factory.mktemp("seal-authority"))


@dataclass(frozen=True)
class SealedPdfCheck:
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_file: bool
    pades: bool
    signer: str | None
    signed_at: datetime | None
    journal: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and self.covers_whole_file and self.pades


def validate_sealed_pdf(pdf_bytes: bytes, ca_cert: x509.Certificate) -> SealedPdfCheck:
    """pyHanko's verdict on the sealed PDF's signature, trusting `ca_cert` alone, and the journal it carries."""
    from asn1crypto import x509 as asn1_x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    root = asn1_x509.Certificate.load(ca_cert.public_bytes(serialization.Encoding.DER))
    reader = PdfFileReader(BytesIO(pdf_bytes))
    signatures = list(reader.embedded_signatures)
    assert len(signatures) == 1, f"expected one signature, found {len(signatures)}"
    embedded = signatures[0]
    context = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")
    status = validate_pdf_signature(embedded, context)
    cert = status.signing_cert
    journal = None
    meeting_id = _meeting_of(pdf_bytes)
    if meeting_id is not None:
        journal = digital_seal.embedded_journal(pdf_bytes, meeting_id)
    return SealedPdfCheck(
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        pades=str(embedded.sig_object.get("/SubFilter")) == "/ETSI.CAdES.detached",
        signer=cert.subject.native.get("common_name") if cert is not None else None,
        signed_at=status.signer_reported_dt,
        journal=journal,
    )


def _meeting_of(pdf_bytes: bytes) -> int | None:
    """The meeting whose journal the file carries (from the attachment's name)."""
    for name in digital_seal.embedded_files(pdf_bytes):
        if name.startswith("nhat-ky-cuoc-hop-") and name.endswith(".json"):
            return json.loads(digital_seal.embedded_files(pdf_bytes)[name])["meeting_id"]
    return None


def pdfsig_says(pdf_bytes: bytes) -> str:
    """poppler's pdfsig on the file (poppler-utils, a test package): its report, as it prints it."""
    import tempfile

    tool = shutil.which("pdfsig")
    assert tool is not None, "pdfsig is missing: run `bash scripts/ensure-system-packages test`"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf_bytes)
        file.flush()
        done = subprocess.run([tool, file.name], capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr
