"""The recovery of a lost server, and what off-site copies cost a nightly backup: fresh servers of
the project's image on this machine, a backup host of the test bed (restic's REST, append-only).

  - a plain first deploy;
  - from a blank server to serving with the restored data: its first deploy with off-site backups,
    then `make restore SNAPSHOT=latest` (the lost server's snapshot);
  - a nightly backup without off-site copies, and with them (the copy, the restore drill, the
    retention).

Target: the recovery under 2x a plain first deploy. Prints numbers; never a pass/fail on timing."""

import json
import os
import tempfile
import time

from core.settings import environment
from testbed import local_server, repos
from testbed.backup_host import CREDENTIALS, BackupHost
from testbed.servers import Server

PASSWORD = "bench-repository-password-0123"  # noqa: S105 (a benchmark's own)


def seconds(function):
    started = time.time()
    function()
    return time.time() - started


def succeeded(result):
    assert result.returncode == 0, result.output[-3000:]


def main():
    nightly = "systemctl start microblog-backup.service"
    with tempfile.TemporaryDirectory() as tmp:
        repo = repos.build(os.path.join(tmp, "sample-app"))
        host = BackupHost(tmp)
        offsite = {
            local_server.SETTINGS_VARIABLE: json.dumps(host.settings("bench")),
            environment.BACKUP_PASSWORD: PASSWORD,
            **CREDENTIALS,
        }
        servers = []
        try:
            plain, lost, blank = (servers.append(Server(tmp, repo.path)) or servers[-1] for _ in range(3))
            first = seconds(lambda: succeeded(plain.deploy()))
            alone = seconds(lambda: plain.sh(nightly))
            succeeded(lost.deploy(env=offsite))
            copied = seconds(lambda: lost.sh(nightly))
            lost.remove()
            recovery = seconds(
                lambda: (
                    succeeded(blank.deploy(env=offsite)),
                    succeeded(blank.make("restore", env=offsite, SNAPSHOT="latest")),
                )
            )
        finally:
            for server in servers:
                server.remove()
            host.remove()
    verdict = "met" if recovery < 2 * first else "MISSED"
    print("recovery of a lost server, off-site backups (restic REST, append-only, on a host of its own)")
    print(f"  plain first deploy                      {first:6.1f} s")
    ratio = f"{recovery / first:.2f}x; target < 2x: {verdict}"
    print(f"  blank server to serving restored data   {recovery:6.1f} s   ({ratio})")
    print(f"  nightly backup, no off-site copy        {alone:6.1f} s")
    print(f"  nightly backup, copied and drilled      {copied:6.1f} s   (+{copied - alone:.1f} s)")


if __name__ == "__main__":
    main()
