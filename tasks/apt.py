from pyinfra.api import deploy
from pyinfra.operations import apt

from core.settings import settings

# The article's packages, by the role that uses them, and what the other tasks use on every server.
PACKAGES = {
    # python3 runs the release program (its health check on web hosts too)
    "any": ["sudo", "curl", "logrotate", "python3"],
    "web": ["nginx"],
    # The app's venv and C extensions pip may build; MariaDB's client for the release's backups.
    "app": ["python3-venv", "python3-dev", "build-essential", "supervisor", "git", "default-mysql-client"],
    "db": ["default-mysql-server"],
}


def packages_for(roles, firewall, tls):
    """Every package a host with these roles needs with these settings: one apt transaction."""
    packages = PACKAGES["any"] + [
        package for role in ("web", "app", "db") if role in roles for package in PACKAGES[role]
    ]
    return packages + (["ufw"] if firewall else []) + (["certbot"] if "web" in roles and tls == "letsencrypt" else [])


@deploy("System packages")
def system_packages():
    """Ensures the apt cache is fresh (refreshed only when older than `apt_cache_seconds`) and the
    packages of the host's roles are installed, with ufw and certbot when `firewall` and `tls`
    need them."""
    s = settings()
    apt.update(name="Refresh the apt cache when stale", cache_time=s.apt_cache_seconds)
    apt.packages(
        name="Install the packages of the host's roles", packages=packages_for(s.roles.of(s.name), s.firewall, s.tls)
    )
