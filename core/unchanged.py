"""Whether a host is as the last good deploy left it, and is to stay so (core/converged.py)."""

from core import converged as record
from core.host_state import certificate_ready, host_state
from core.roles import host_named
from core.secrets import app_secrets
from core.settings import settings
from core.source import plan


def converged():
    """The host holds what the last good deploy left, with the same settings, secrets and code;
    the apt cache is fresh and the certificate valid for a day more. A new release may wait."""
    s = settings()
    state = host_state()
    if s.is_web and s.tls != "off" and not certificate_ready(s.tls):
        return False
    if state["clock"] != "fresh":
        return False
    if (s.is_app or s.is_db) and app_secrets().new:
        return False
    return state["converged"] == f"{record.desired_digest(s)} {state['probe']}"


def releasing():
    """Whether an app host of the layout is to get a new release."""
    return any(plan(host_named(name)).changed for name in settings().roles.app)
