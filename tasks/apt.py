from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import apt

# The article's packages, and what the other tasks use on the server.
PACKAGES = [
    "python3-venv", "python3-dev", "build-essential",  # the app's venv, and C extensions pip may build
    "supervisor", "default-mysql-server", "nginx", "git",
    "sudo", "curl", "logrotate",
]


def packages_for(data):
    """Every package the deploy needs with these settings: one apt transaction installs them all."""
    return (PACKAGES + (["ufw"] if data.get("firewall") else [])
            + (["certbot"] if data.get("tls") == "letsencrypt" else []))


@deploy("System packages")
def system_packages():
    """Ensures the apt cache is fresh (refreshed only when older than `apt_cache_seconds`) and the
    packages of the stack are installed, with ufw and certbot when `firewall` and `tls` need them."""
    apt.update(name="Refresh the apt cache when stale", cache_time=host.data.apt_cache_seconds)
    apt.packages(name="Install the stack's packages", packages=packages_for(host.data))
