"""A deploy that changes nothing, in one round trip. After every deploy that ends well, the
server keeps (root's, /var/lib/<app>/converged) the digest of what was deployed and the digest of
a probe of everything the tasks ensure, as each declares it beside its @deploy (`manages`):
files, folders, links, packages, services, firewall, MariaDB's databases, users and grants,
supervisor's programs. A later deploy with the same settings, secrets and code, nothing to
release and the same probe changes nothing: it checks the site serves and stops there. Anything
else (a file changed on the server, a service stopped, a new setting) runs every task as usual."""

import hashlib
import importlib
import json
import os
import pkgutil
import shlex
from dataclasses import asdict

from core import ROOT
from core.plan.managed import Managed
from core.plan.tls import certificate_for

# The deploy's own code: a new version of it may ensure more than the last one did.
CODE = ("deploy.py", "core", "facts", "operations", "tasks", "templates", "constraints", "flask_release", "group_data")
APT_STAMP = "/var/lib/apt/periodic/update-success-stamp"  # pyinfra's apt.update reads its age


def code_digest():
    digest = hashlib.sha256()
    for top in CODE:
        found = (
            [os.path.join(ROOT, top)]
            if os.path.isfile(os.path.join(ROOT, top))
            else sorted(
                os.path.join(folder, name)
                for folder, _, names in os.walk(os.path.join(ROOT, top))
                for name in names
                if not name.endswith(".pyc")
            )
        )
        for path in found:
            with open(path, "rb") as handle:
                digest.update(os.path.relpath(path, ROOT).encode() + b"\0" + handle.read())
    return digest.hexdigest()


def desired_digest(s):
    """What this host is to be: its settings, the files the settings name on this machine, and
    the deploy's own code. (Not the secrets, not even hashed: the record
    is printed at -vvv. New secrets are told apart otherwise: core.settings.secrets.Secrets.new.)"""
    contents = []
    # (the certificate you bring, not its key: a new key comes with a new certificate)
    for path in [s.acme_ca_bundle, s.tls_certificate if s.tls == "files" else None]:
        if not path:
            continue
        with open(os.path.expanduser(path), "rb") as handle:
            contents.append(handle.read().hex())
    text = json.dumps([asdict(s), contents, code_digest()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def managed(s):
    """Everything the tasks ensure on this host, as each declares it (its `manages`)."""
    # imported here: the tasks read core.plan.host_state, which reads this module
    import tasks

    modules = [importlib.import_module(f"tasks.{info.name}") for info in pkgutil.iter_modules(tasks.__path__)]
    return sum((module.manages(s) for module in modules if hasattr(module, "manages")), Managed())


def probe(s):
    """One shell command whose output changes when anything the tasks ensure on this host does.
    (Times are left out; what depends on the clock, the apt cache and the certificates, is not
    part of it: see `clock_probe`.)"""
    found = managed(s)
    commands = [*found.commands]
    commands.append("stat -c '%n %a %U %G %F %N' " + " ".join(map(shlex.quote, found.paths)))
    commands.append("sha1sum " + " ".join(map(shlex.quote, found.files)))
    if found.services:
        services = " ".join(found.services)
        commands.append(f"systemctl is-active {services}; systemctl is-enabled {services}")
    return "; ".join(f"{command} 2>&1" for command in commands)


def clock_probe(s):
    """What time changes: whether the apt cache is stale, whether a certificate expires within a
    day. Prints `fresh` when neither."""
    checks = [f"test $(( $(date +%s) - $(stat -c %Y {APT_STAMP} 2>/dev/null || echo 0) )) -lt {s.apt_cache_seconds}"]
    certificate = certificate_for(s.tls, s) if s.is_web else None
    if certificate:
        checks.append(f"openssl x509 -in {shlex.quote(certificate.fullchain)} -noout -checkend 86400 >/dev/null")
    return "( " + " && ".join(checks) + " ) 2>/dev/null && echo fresh || echo stale"


def record_command(s, desired):
    """What the last operation of a deploy that ended well runs: the probe's digest recorded."""
    path = shlex.quote(s.paths.converged_file)
    return (
        f"probe=$( ( {probe(s)} ) | sha256sum | cut -c1-64 ) && printf '%s %s\\n' {desired} \"$probe\" "
        f"> {path}.new && chmod 0600 {path}.new && mv -f {path}.new {path}"
    )
