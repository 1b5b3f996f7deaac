"""Whether a host is as the last good deploy left it, and is to stay so (core/converged.py)."""

from core import converged
from core.host_state import host_state, served_certificate
from core.roles import host_named
from core.secrets import app_secrets
from core.settings import settings
from core.source import plan


def desired():
    s = settings()
    return converged.desired_digest(s, served_certificate() if s.is_web else None)


def unchanged():
    s = settings()
    state = host_state()
    if state["clock"] != "fresh" or any(plan(host_named(name)).changed for name in s.roles.app):
        return False
    if (s.is_app or s.is_db) and app_secrets().new:
        return False
    return state["converged"] == f"{desired()} {state['probe']}"
