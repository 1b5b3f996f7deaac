from pyinfra.api import deploy
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed

from core.glue.render import render
from core.plan.managed import Managed
from core.settings.resolved import settings
from operations.files import secret_file
from operations.release import offsite_answers


@deploy("Nightly backups")
def nightly_backups():
    """Ensures a systemd timer dumps the app's database every night at `backup_time` (missed
    runs catch up at boot), on the app host that migrates: it holds the database client's
    credentials. The release program keeps the newest `backups_nightly_keep` of them; with
    `backup_repository` it copies every dump off-site, drills the nightly one and applies the
    retention. For an sftp: repository, root's key (`backup_ssh_key`) and the file that pins the
    host's key (`backup_ssh_host_key`, or the one met at first contact); then the repository is
    checked (made when there is none), a warning when it does not answer: the release goes on,
    its dump kept here."""
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
    if not s.offsite:
        return
    paths = s.paths
    if s.backup_ssh_key:
        with open(s.backup_ssh_key) as handle:
            key = handle.read()
        secret_file(name=f"{paths.backup_ssh_key} (0600, root's)", dest=paths.backup_ssh_key, content=key)
    else:
        files.file(name=f"No {paths.backup_ssh_key}", path=paths.backup_ssh_key, present=False)
    if s.backup_ssh_host_key:
        pinned = f"{paths.backup_known_hosts} (0600, root's: backup_ssh_host_key)"
        secret_file(name=pinned, dest=paths.backup_known_hosts, content=s.backup_ssh_host_key)
    else:  # ssh pins the key it meets first
        files.file(name=f"{paths.backup_known_hosts} (0600, root's)", path=paths.backup_known_hosts, mode="0600")
    offsite_answers(name="The off-site repository answers", program=paths.program)


def manages(s):
    if s.name != s.roles.migrating_host:
        return Managed()
    p = s.paths
    units = tuple(f"/etc/systemd/system/{s.app_name}-backup.{kind}" for kind in ("service", "timer"))
    return Managed(
        paths=(*units, p.backup_ssh_key, p.backup_known_hosts),
        files=(*units, p.backup_ssh_key, *([p.backup_known_hosts] if s.backup_ssh_host_key else [])),
        services=(f"{s.app_name}-backup.timer",),
    )
