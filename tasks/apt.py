from pyinfra.api import deploy
from pyinfra.operations import apt

from core.plan.managed import Managed
from core.plan.packages import packages_for
from core.settings.resolved import settings


@deploy("System packages")
def system_packages():
    """Ensures the apt cache is fresh (refreshed only when older than `apt_cache_seconds`) and the
    packages of the host's roles are installed, with ufw and certbot when `firewall` and `tls`
    need them. Recommends are left out: a server gets what it uses, a smaller transaction."""
    s = settings()
    apt.update(name="Refresh the apt cache when stale", cache_time=s.apt_cache_seconds)
    apt.packages(
        name="Install the packages of the host's roles",
        packages=packages_for(s.roles.of(s.name), s.firewall, s.tls, s.offsite),
        no_recommends=True,
    )


def manages(s):
    packages = packages_for(s.roles.of(s.name), s.firewall, s.tls, s.offsite)
    return Managed(commands=("dpkg-query -W -f='${Package} ${Status}\\n' " + " ".join(packages),))
