"""Where a host's certificates live."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Certificate:
    fullchain: str
    privkey: str


def certificate_for(mode, s):
    """Where the certificate of a `tls` mode lives on the server (settings `s`)."""
    return app_certificate(s.app_name, mode)


def app_certificate(app_name, mode):
    """Where app `app_name`'s certificate of a `tls` mode lives on its web hosts."""
    if mode == "letsencrypt":
        live = f"/etc/letsencrypt/live/{app_name}"
        return Certificate(f"{live}/fullchain.pem", f"{live}/privkey.pem")
    if mode == "self-signed":
        return Certificate(f"/etc/ssl/{app_name}/fullchain.pem", f"/etc/ssl/{app_name}/privkey.pem")
    if mode == "files":  # yours (tls_certificate, tls_key), as the deploy installed them
        return Certificate(f"/etc/ssl/{app_name}/own/fullchain.pem", f"/etc/ssl/{app_name}/own/privkey.pem")
    return None
