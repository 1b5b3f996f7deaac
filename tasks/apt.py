from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import apt

# The article's packages, and what the other tasks use on the server.
PACKAGES = [
    "python3-venv", "python3-dev", "build-essential",  # the app's venv, and C extensions pip may build
    "supervisor", "default-mysql-server", "nginx", "git",
    "sudo", "curl", "logrotate",
]


@deploy("System packages")
def system_packages():
    """Ensures the apt cache is fresh (refreshed only when older than `apt_cache_seconds`) and the
    stack's packages are installed."""
    apt.update(name="Refresh the apt cache when stale", cache_time=host.data.apt_cache_seconds)
    apt.packages(name="Install the stack's packages", packages=PACKAGES)
