"""Settings checked before anything on a server changes: every problem reported at once, each
naming the setting and the fix."""

import ipaddress
import os
import re

from pyinfra.api.exceptions import PyinfraError
from pyinfra.facts.server import Command

from tasks.common import is_git_url

TLS_MODES = ("letsencrypt", "self-signed", "off")
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,31}$")
DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Names that never resolve on the public internet, so no public CA can validate them.
NOT_PUBLIC_SUFFIXES = ("localhost", "local", "localdomain", "internal", "test", "invalid", "example", "lan", "home")


def is_dns_name(name):
    labels = name.lower().rstrip(".").split(".")
    return len(name) <= 253 and all(DNS_LABEL.match(label) for label in labels)


def is_public_dns_name(name):
    try:
        ipaddress.ip_address(name)
        return False
    except ValueError:
        pass
    labels = name.lower().rstrip(".").split(".")
    return is_dns_name(name) and len(labels) >= 2 and labels[-1] not in NOT_PUBLIC_SUFFIXES \
        and not labels[-1].isdigit()


def problems(data):
    """What is wrong with the settings in `data` (host.data, or any object with .get)."""
    found = []
    for setting in ("app_name", "app_user", "db_name", "db_user"):
        if not IDENTIFIER.match(str(data.get(setting) or "")):
            found.append(f"`{setting}` = {data.get(setting)!r} is not a safe name: use lowercase letters, digits "
                         "and _ (at most 32, not starting with a digit).")
    domain = str(data.get("domain") or "")
    if not is_dns_name(domain):
        found.append(f"`domain` = {domain!r} is not a valid DNS name: set it to the site's name, e.g. blog.example.org.")
    workers = data.get("workers")
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        found.append(f"`workers` = {workers!r} must be a positive whole number, or None for 2 per CPU core.")
    for setting in ("upstream_max_fails", "rolling_batch_size"):
        value = data.get(setting)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            found.append(f"`{setting}` = {value!r} must be a positive whole number.")
    if not re.match(r"^\d+(ms|s|m|h)?$", str(data.get("upstream_fail_timeout"))):
        found.append(f"`upstream_fail_timeout` = {data.get('upstream_fail_timeout')!r} must be an nginx time, e.g. 10s.")
    bind = str(data.get("bind") or "")
    if not re.match(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$", bind) or not 0 < int(bind.rsplit(":", 1)[1]) < 65536:
        found.append(f"`bind` = {bind!r} must be host:port, e.g. 127.0.0.1:8000.")
    repo = str(data.get("repo") or "")
    if not is_git_url(repo) and not os.path.isdir(os.path.expanduser(repo)):
        found.append(f"`repo` = {repo!r} is neither a git URL nor a folder on this machine: set the app's "
                     "repository URL, or the path of a local git repository (APP_REPO for the local server).")
    tls = data.get("tls")
    if tls not in TLS_MODES:
        found.append(f"`tls` = {tls!r} is not one of {', '.join(TLS_MODES)}.")
    if tls == "letsencrypt":
        if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", str(data.get("acme_email") or "")):
            found.append("`acme_email` is required with tls = \"letsencrypt\": set the contact email of the ACME "
                         "account (e.g. --data acme_email=you@example.org), or choose tls = \"self-signed\".")
        if is_dns_name(domain) and not is_public_dns_name(domain):
            found.append(f"`domain` = {domain!r} is not a public DNS name, so no ACME CA can validate it: set the "
                         "site's public name, or use tls = \"self-signed\" (or \"off\").")
    return found


def layout_problems(roles, addresses):
    """What is wrong with the hosts of each role ({role: [names]}) and their private addresses."""
    found = []
    for role, variable in (("web", "DEPLOY_WEB_HOSTS"), ("app", "DEPLOY_APP_HOSTS")):
        if not roles.get(role):
            found.append(f"No {role} host: list at least one in {variable} (or DEPLOY_HOSTS).")
    if len(roles.get("db") or ()) != 1:
        found.append(f"{len(roles.get('db') or ())} database hosts ({', '.join(roles.get('db') or ()) or 'none'}): "
                     "name exactly one in DEPLOY_DB_HOST (it defaults to DEPLOY_HOSTS).")
    names = {name for hosts in roles.values() for name in hosts}
    if len(names) > 1:  # the hosts reach each other at their private addresses
        for name in sorted(names):
            try:
                ipaddress.ip_address(addresses[name])
            except ValueError:
                found.append(f"{name} needs the IP address the other hosts reach it at: write it as "
                             f"{name}=PRIVATE_IP in its DEPLOY_*_HOSTS entry (setting `private_address`).")
    return found


def check_settings(host, state):
    """Stops the deploy, before anything changes, on bad settings or an SSH user without sudo."""
    found = problems(host.data)
    if found:
        raise PyinfraError(f"Settings of {host.name} need fixing before anything changes:\n  - "
                           + "\n  - ".join(found))
    user = host.data.get("ssh_user")
    asks_password = host.data.get("_use_sudo_password") or getattr(state.config, "USE_SUDO_PASSWORD", False)
    if host.data.get("_sudo") and not asks_password and \
            host.get_fact(Command, "sudo -n true 2>/dev/null && echo yes || echo no", _sudo=False) != "yes":
        raise PyinfraError(
            f"{user} on {host.name} cannot use sudo without a password, and the deploy needs it. Grant it "
            f"(as root: echo '{user} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/{user}), connect as root "
            "(DEPLOY_SSH_USER=root), or add --use-sudo-password.")
