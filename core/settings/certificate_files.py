"""A certificate you bring (tls = "files"): read on this machine and checked before anything
connects, so that nginx is never handed one it would refuse or that browsers would."""

import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtensionOID

from core.settings.hostnames import is_ip, server_names

DAY = datetime.timedelta(days=1)


def covers(patterns, name):
    """Whether a certificate naming `patterns` (its DNS and IP names) is valid for host `name`: a
    wildcard stands for one label, as browsers read it."""
    name = name.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower().rstrip(".")
        if pattern == name or (
            pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:] and not is_ip(name)
        ):
            return True
    return False


def names_of(certificate):
    """The DNS names and IP addresses a certificate is valid for (its subjectAltName)."""
    try:
        alternative = certificate.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return []
    return [*alternative.get_values_for_type(x509.DNSName), *map(str, alternative.get_values_for_type(x509.IPAddress))]


def _public(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def files_problems(data, need, now=None):
    """Calls need(ok, setting, fix) for each rule of the certificate and key files of tls = "files"."""
    certificate_path, key_path = data.get("tls_certificate"), data.get("tls_key")
    for setting, path, what in (
        ("tls_certificate", certificate_path, "the certificate's PEM file, its chain after it"),
        ("tls_key", key_path, "its private key's PEM file"),
    ):
        need(path, setting, f'is required with tls = "files": the local path of {what}.')
    paths = [os.path.expanduser(str(path)) for path in (certificate_path, key_path) if path]
    if len(paths) < 2 or not all(os.path.isfile(path) for path in paths):
        return  # (the kind's rule names a missing file)
    certificate_path, key_path = paths
    with open(certificate_path, "rb") as handle:
        try:
            chain = x509.load_pem_x509_certificates(handle.read())
        except ValueError:
            chain = []
    need(
        chain,
        "tls_certificate",
        "holds no PEM certificate (-----BEGIN CERTIFICATE-----): give the certificate, then its chain.",
    )
    need(
        not os.stat(key_path).st_mode & 0o004,
        "tls_key",
        f"{key_path} is readable by every account of this machine: chmod 600 it (and get a new key if it was shared).",
    )
    with open(key_path, "rb") as handle:
        try:
            key = serialization.load_pem_private_key(handle.read(), password=None)
        except (ValueError, TypeError):
            key = None
    need(key, "tls_key", "is not an unencrypted PEM private key: give the key nginx is to use, without a passphrase.")
    if not chain or key is None:
        return
    leaf, now = chain[0], now or datetime.datetime.now(datetime.UTC)
    need(
        _public(leaf.public_key()) == _public(key.public_key()),
        "tls_key",
        "does not match the certificate of tls_certificate: give the key that certificate was issued for.",
    )
    need(
        all(signed.issuer == issuer.subject for signed, issuer in zip(chain, chain[1:], strict=False)),
        "tls_certificate",
        "holds its chain out of order: the certificate first, then each issuer after the one it signed.",
    )
    expires = leaf.not_valid_after_utc
    need(
        expires - now > DAY,
        "tls_certificate",
        f"{'expired' if expires <= now else 'expires'} {expires:%Y-%m-%d %H:%M} UTC: it must be valid for more than "
        "a day; renew it.",
    )
    need(
        leaf.not_valid_before_utc <= now,
        "tls_certificate",
        f"is valid from {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC only: check this machine's clock, or wait.",
    )
    named = names_of(leaf)
    missing = [name for name in server_names(data) if not covers(named, name)]
    need(
        not missing,
        "tls_certificate",
        f"does not cover {', '.join(missing)} of server_names (it names {', '.join(named) or 'nothing'}): get one "
        "that covers every name the site answers, or take the name out of server_names.",
    )
