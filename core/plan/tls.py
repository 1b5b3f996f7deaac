"""Where a host's certificates live."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Certificate:
    fullchain: str
    privkey: str


def certificate_for(mode, s):
    """Where the certificate of a `tls` mode lives on the server (settings `s`)."""
    if mode == "letsencrypt":
        live = f"/etc/letsencrypt/live/{s.app_name}"
        return Certificate(f"{live}/fullchain.pem", f"{live}/privkey.pem")
    if mode == "self-signed":
        return Certificate(f"/etc/ssl/{s.app_name}/fullchain.pem", f"/etc/ssl/{s.app_name}/privkey.pem")
    return None
