"""Where a host's certificates live, and which one nginx can serve."""

from dataclasses import dataclass

from pyinfra import host

from core.hostnames import is_ip
from core.settings import settings
from facts.tls import CertificateNames


@dataclass(frozen=True)
class Certificate:
    fullchain: str
    privkey: str


def certificate_for(mode, s=None):
    """Where the certificate of a `tls` mode lives on the server."""
    s = s or settings()
    if mode == "letsencrypt":
        live = f"/etc/letsencrypt/live/{s.app_name}"
        return Certificate(f"{live}/fullchain.pem", f"{live}/privkey.pem")
    if mode == "self-signed":
        return Certificate(f"/etc/ssl/{s.app_name}/fullchain.pem", f"/etc/ssl/{s.app_name}/privkey.pem")
    return None


def certificate_ready(mode):
    """Whether the server holds a valid certificate of `mode` for all of server_names."""
    certificate = certificate_for(mode)
    if not certificate:
        return False
    names = host.get_fact(CertificateNames, path=certificate.fullchain)
    dns_names = {name for name in settings().server_names if not is_ip(name)}
    return bool(names) and dns_names <= set(names)


def served_certificate():
    """The certificate nginx can serve before this deploy's certificate step: the configured
    mode's, else the other mode's (so that switching modes keeps HTTPS up), else none."""
    mode = settings().tls
    if mode == "off":
        return None
    for candidate in (mode, "letsencrypt" if mode == "self-signed" else "self-signed"):
        if certificate_ready(candidate):
            return certificate_for(candidate)
    return None
