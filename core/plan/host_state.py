"""What a host holds, read once when the deploy is planned (one command, facts/host.py): root's
record of its releases, the certificates, and whether it is as the last good deploy left it."""

from pyinfra import host

from core.plan import converged
from core.plan.per_host import once_per_host
from core.plan.tls import certificate_for
from core.settings.hostnames import is_ip
from core.settings.resolved import settings
from facts.host import HostState

MODES = ("letsencrypt", "self-signed", "files")


def host_state(target=None):
    return _host_state(host if target is None else target)


@once_per_host
def _host_state(target):
    s = settings(target)
    paths = s.paths
    certificates = [certificate_for(mode, s).fullchain for mode in MODES] if s.is_web else []
    return target.get_fact(
        HostState,
        probe=converged.probe(s),
        clock=converged.clock_probe(s),
        state_file=f"{paths.state_dir}/state.json",
        converged_file=paths.converged_file,
        certificates=certificates,
    )


def certificate_ready(mode):
    """Whether the server holds a valid certificate of `mode` for all of server_names."""
    s = settings()
    certificate = certificate_for(mode, s)
    names = host_state()["certificates"].get(certificate.fullchain) if certificate else None
    return bool(names) and {name for name in s.server_names if not is_ip(name)} <= set(names)


def served_certificate():
    """The certificate nginx can serve before this deploy's certificate step: the configured
    mode's, else another mode's (so that switching modes keeps HTTPS up), else none."""
    s = settings()
    if s.tls == "off":
        return None
    for candidate in (s.tls, *(mode for mode in MODES if mode != s.tls)):
        if certificate_ready(candidate):
            return certificate_for(candidate, s)
    return None
