"""Checks of the settings the web side reads: the site's names, gunicorn's address, the health
check, nginx's values, TLS. Part of core.settings.checks.problems."""

import re

from core.settings.certificate_files import files_problems
from core.settings.hostnames import is_dns_name, is_ip, is_public_dns_name, server_names

TLS_MODES = ("letsencrypt", "self-signed", "files", "off")


def web_problems(data, need):
    """Calls need(ok, setting, fix) for each rule."""
    _site(data, need)
    _tls(data, need)


def _site(data, need):
    given = data.get("server_names")
    need(
        given is None or isinstance(given, (str, list, tuple)),
        "server_names",
        "must be a list of host names (or one string of them, comma separated).",
    )
    bad = [name for name in server_names(data) if not (is_dns_name(name) or is_ip(name))] if given else []
    need(
        not bad,
        "server_names",
        f"holds {', '.join(map(repr, bad))}, not host names: list DNS names (or IP "
        "addresses), e.g. --data server_names=blog.example.org,www.blog.example.org.",
    )
    need(
        not data.get("private_address") or is_ip(str(data.get("private_address"))),
        "private_address",
        "must be an IP address.",
    )
    host, _, port = str(data.get("bind") or "").rpartition(":")
    need(
        host and port.isdigit() and 0 < int(port) < 65536 and re.match(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)$", host),
        "bind",
        "must be host:port with a numeric port, e.g. 127.0.0.1:8000.",
    )


def _tls(data, need):
    tls = data.get("tls")
    need(tls in TLS_MODES, "tls", f"is not one of {', '.join(TLS_MODES)}.")
    if tls == "files":
        files_problems(data, need)
    if tls == "letsencrypt":
        need(
            re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", str(data.get("acme_email") or "")),
            "acme_email",
            "is required "
            'with tls = "letsencrypt": set the contact email of the ACME account (e.g. --data '
            'acme_email=you@example.org), or choose tls = "self-signed".',
        )
        private = [name for name in server_names(data) if is_dns_name(name) and not is_public_dns_name(name)]
        need(
            not private,
            "domain",
            f"(server names {', '.join(private)}) is not a public DNS name, so no ACME CA can "
            'validate it: set the site\'s public name, or use tls = "self-signed" (or "off").',
        )
