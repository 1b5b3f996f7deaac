"""The apps a server holds, each recorded by its own deploy (root's /etc/flask-deploy/apps/<app>.json):
what one app takes that no other app on the server may take (its accounts, database, host names and
gunicorn ports), the ports a new app gets, and the catch-all site that every app's deploy writes alike."""

import hashlib
import os

from core.glue.render import render_text
from core.settings.checks import IDENTIFIER
from core.settings.hostnames import is_ip

FOLDER = "/etc/flask-deploy/apps"
# The settings no two apps on one server share, and the role whose hosts they are taken on.
EXCLUSIVE = (("app_user", "app"), ("build_user", "app"), ("db_name", "db"), ("db_user", "db"))
# What of an app's settings is the server's, one for all its apps: every app there sets it alike.
SERVER_WIDE = {
    "mariadb": "MariaDB's server settings (`db_lock_wait_seconds`, the address it listens on)",
    "acme_ca": "the ACME directory's CA that certbot's renewal timer trusts (`acme_ca_bundle`)",
}


def record(s):
    """What this app takes on the host of its settings `s`: the record its deploy writes there."""
    return {
        "app_name": s.app_name,
        "roles": [role for role in ("web", "app", "db") if getattr(s, f"is_{role}")],
        "app_user": s.app_user,
        "build_user": s.build_user,
        "db_name": s.db_name,
        "db_user": s.db_user,
        "server_names": list(s.server_names),
        "ports": list(s.gunicorn_ports),
        "tls": s.tls,
        "server_wide": server_wide(s),
    }


def server_wide(s):
    """{what: digest} of the server's parts this app's settings decide on its host."""
    found = {}
    if s.is_db:
        found["mariadb"] = _digest(render_text("mariadb.cnf.j2", s).encode())
    if s.is_web and s.tls == "letsencrypt":
        bundle = b""
        if s.acme_ca_bundle:
            with open(os.path.expanduser(s.acme_ca_bundle), "rb") as handle:
                bundle = handle.read()
        found["acme_ca"] = _digest(bundle)
    return found


def _digest(content):
    return hashlib.sha256(content).hexdigest()[:16]


def others(records, app_name):
    """The records of the other apps (a host's {app: record}), those that read as records alone."""
    fields = {"roles": list, "server_names": list, "ports": list, "tls": str}
    return {
        name: found
        for name, found in sorted(records.items())
        if name != app_name
        and IDENTIFIER.match(name)  # as `app_name` is checked: the record's file name
        and isinstance(found, dict)
        and all(isinstance(found.get(field), kind) for field, kind in fields.items())
    }


def kept_port(records, app_name):
    """The blue gunicorn's port an earlier deploy of this app chose on one of the hosts, or None."""
    for found in records:
        mine = found.get(app_name)
        if isinstance(mine, dict) and isinstance(mine.get("ports"), list) and mine["ports"]:
            return int(mine["ports"][0])
    return None


def gunicorn_port(bind_port, chosen, kept, taken):
    """The blue gunicorn's port (green takes the next): `bind`'s when the user `chosen` it, else the
    one kept from the app's earlier deploys, else the first pair from bind's port that no other app
    uses (`taken`: their ports)."""
    if chosen:
        return bind_port
    if kept is not None:
        return kept
    port = bind_port
    while port in taken or port + 1 in taken:
        port += 2
    return port


def conflicts(s, host_name, apps):
    """What app `s` would take on host `host_name` that another app there (`apps`: their records,
    see `others`) has: one message per clash, naming the setting, the other app and the fix."""
    problems = []
    for setting, role in EXCLUSIVE:
        if not getattr(s, f"is_{role}"):
            continue
        for other, found in apps.items():
            if role in found["roles"] and found.get(setting) == getattr(s, setting):
                problems.append(
                    f"`{setting}` = {getattr(s, setting)!r} is app {other}'s on {host_name}: give {s.app_name} its own."
                )
    mine = server_wide(s)
    for other, found in apps.items():
        theirs = found.get("server_wide") if isinstance(found.get("server_wide"), dict) else {}
        for part in sorted(set(mine) & set(theirs)):
            if mine[part] != theirs[part]:
                problems.append(
                    f"{SERVER_WIDE[part]}: not as app {other}'s on {host_name}, and there is one for the "
                    "server: set them alike for both apps."
                )
        if s.is_web and "web" in found["roles"]:
            shared = sorted(set(s.server_names) & set(found["server_names"]))
            if shared:
                problems.append(
                    f"`server_names` {', '.join(shared)}: app {other} serves them on {host_name}; "
                    "each name has one app."
                )
        if s.is_app and "app" in found["roles"]:
            ports = set(found["ports"])
            if ports & set(s.gunicorn_ports):
                low, high = min(ports), max(ports)
                problems.append(
                    f"`bind` port {s.gunicorn_ports[0]} (and {s.gunicorn_ports[1]}, the green gunicorn's) meets "
                    f"app {other}'s {low}-{high} on {host_name}: set another, or leave `bind` at its default "
                    "for a free pair."
                )
    return problems


def catch_all(apps, certificate_of):
    """(whether the catch-all listens on 443, the certificate it shows clients that send no TLS
    server name or None) of the web apps on a host (`apps`: every record, this app's included;
    `certificate_of(app_name, tls)`: where that app's certificate lives). Those clients asked for an
    IP address: they get the certificate of the first app, by name, that serves one."""
    web = {name: found for name, found in sorted(apps.items()) if "web" in found["roles"]}
    https = any(found["tls"] != "off" for found in web.values())
    for name, found in web.items():
        if found["tls"] != "off" and any(is_ip(each) for each in found["server_names"]):
            return https, certificate_of(name, found["tls"])
    return https, None
