from pyinfra.api import deploy
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from core.render import render
from core.settings import settings


@deploy("Nightly backups")
def nightly_backups():
    """Ensures a systemd timer dumps the app's database every night at `backup_time` (missed
    runs catch up at boot), on the app host that migrates: it holds the database client's
    credentials. The release program keeps the newest `backups_nightly_keep` of them."""
    s = settings()
    unit = f"{s.app_name}-backup"
    changed = [
        files.put(
            name=f"{unit}.{kind}",
            src=render(f"backup.{kind}.j2", s),
            dest=f"/etc/systemd/system/{unit}.{kind}",
            mode="0644",
        )
        for kind in ("service", "timer")
    ]
    systemd.daemon_reload(name="systemd reads the backup timer", _if=any_changed(*changed))
    systemd.service(name=f"{unit}.timer is enabled", service=f"{unit}.timer", running=True, enabled=True)
