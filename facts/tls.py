"""Certificates on a server."""

import shlex

from pyinfra.api import FactBase


class CertificateNames(FactBase):
    """DNS names of a certificate file that is valid for another day, or None."""

    def command(self, path):
        quoted = shlex.quote(path)
        return (
            f"test -s {quoted} && openssl x509 -in {quoted} -noout -checkend 86400 >/dev/null && "
            f"openssl x509 -in {quoted} -noout -ext subjectAltName || true"
        )

    def process(self, output):
        names = [item.strip()[4:] for line in output for item in line.split(",") if item.strip().startswith("DNS:")]
        return names or None
