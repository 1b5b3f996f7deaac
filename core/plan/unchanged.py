"""Whether a host is as the last good deploy left it, and is to stay so (core/plan/converged.py)."""

from pyinfra import host, logger

from core.plan import converged as record
from core.plan.host_state import certificate_ready, host_state
from core.plan.source import plan
from core.settings.resolved import settings
from core.settings.roles import host_named
from core.settings.secrets import app_secrets


def converged():
    """The host holds what the last good deploy left, with the same settings, secrets and code;
    the apt cache is fresh and the certificate valid for a day more. A new release may wait.
    Says why every task runs when it does not."""
    difference = _difference()
    if difference:
        logger.info(f"{host.name}: every task runs: {difference}")
    return not difference


def _difference():
    """Why the host is not as the last good deploy left it, or None when it is."""
    s = settings()
    state = host_state()
    if s.is_web and s.tls != "off" and not certificate_ready(s.tls):
        return "the certificate is due (or not the one configured)"
    if state["clock"] != "fresh":
        return "the apt cache is older than apt_cache_seconds (or the certificate expires within a day)"
    if (s.is_app or s.is_db) and app_secrets().new:
        return "the secrets change"
    if not state["converged"]:
        return "no record of a last good deploy"
    recorded_desired, _, recorded_probe = state["converged"].partition(" ")
    if recorded_desired != record.desired_digest(s):
        return "the settings, templates or program changed since the last deploy"
    if recorded_probe != state["probe"]:
        return "the server differs from what the last deploy left (packages, services, files, database)"
    return None


def releasing():
    """Whether an app host of the layout is to get a new release."""
    return any(plan(host_named(name)).changed for name in settings().roles.app)
