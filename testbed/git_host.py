"""A git host for the tests: `git daemon` in a container of the project's own image, serving
repositories at git://ADDRESS/OWNER/NAME.git to the other containers (no git host on the
internet is reachable here)."""

import io
import subprocess
import tarfile
import tempfile

from testbed.servers import Server


class GitHost:
    def __init__(self, state_dir):
        self.server = Server(state_dir, repo="", web=False)
        try:
            self.start_daemon()
        except Exception:
            self.server.remove()
            raise
        self.address = self.server.address()

    def start_daemon(self):
        self.server.sh(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git >/dev/null && "
            "mkdir -p /srv/git && "
            "systemd-run --unit git-daemon git daemon --reuseaddr --export-all --base-path=/srv/git "
            "/srv/git"
        )

    def url(self, path):
        return f"git://{self.address}/{path}.git"

    def publish(self, local_repo, path):
        """The repository at `path` mirrors every branch and tag of `local_repo`."""
        with tempfile.TemporaryDirectory() as folder:
            bundle = f"{folder}/all.bundle"
            subprocess.run(
                ["git", "-C", local_repo, "bundle", "create", bundle, "--all"], check=True, capture_output=True
            )
            with open(bundle, "rb") as handle:
                content = handle.read()
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            info = tarfile.TarInfo("incoming.bundle")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        self.server.container.put_archive("/srv", archive.getvalue())
        self.server.sh(
            f"mkdir -p /srv/git/{path}.git && cd /srv/git/{path}.git && (test -f HEAD || git init -q --bare) "
            "&& git fetch -q --prune --force /srv/incoming.bundle '+refs/heads/*:refs/heads/*' "
            "'+refs/tags/*:refs/tags/*'"
        )

    def remove(self):
        self.server.remove()
