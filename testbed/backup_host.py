"""A backup host for the tests and benchmarks, in a container of its own on Docker's bridge: a
restic REST server started append-only (rclone serve restic --append-only, from Debian's rclone),
the same repository served without it on another port (the operator's side, which may delete),
an sftp account with a key of the test's, and a receiver that keeps every alert POSTed to it.
Both REST ends ask for a user and password: the repository's credentials (`backup_secrets`)."""

import os
import subprocess

from core.settings.backup_settings import REST_PASSWORD, REST_USER
from testbed.servers import Server

REST_PORT, ADMIN_PORT, ALERT_PORT = 8000, 8001, 9000
CREDENTIALS = {REST_USER: "offsite", REST_PASSWORD: "rest-credential-of-the-test-4567"}
AUTH = f"--user {CREDENTIALS[REST_USER]} --pass {CREDENTIALS[REST_PASSWORD]}"
RECEIVER = """
import http.server
class Keep(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open("/srv/alerts.log", "ab") as log:
            log.write(body + b"\\n")
        self.send_response(204)
        self.end_headers()
http.server.HTTPServer(("0.0.0.0", PORT), Keep).serve_forever()
""".replace("PORT", str(ALERT_PORT))


class BackupHost:
    def __init__(self, state_dir):
        self.server = Server(state_dir, repo=None, web=False)
        self.key = os.path.join(state_dir, "backup_ed25519")
        if not os.path.exists(self.key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.key], check=True)
        try:
            self.serve()
        except BaseException:
            self.remove()
            raise

    def serve(self):
        with open(self.key + ".pub") as handle:
            public = handle.read().strip()
        sh = self.server.sh
        install = "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rclone"
        sh(f"apt-get update -qq && {install} >/dev/null")
        sh("mkdir -p /srv/restic && useradd -m -s /bin/sh offsite && install -d -o offsite /srv/sftp-repo")
        sh(f"install -d -m 0700 -o offsite /home/offsite/.ssh && echo '{public}' > /home/offsite/.ssh/authorized_keys")
        sh("chown offsite /home/offsite/.ssh/authorized_keys && chmod 0600 /home/offsite/.ssh/authorized_keys")
        sh(f"cat > /srv/receiver.py <<'END'\n{RECEIVER}\nEND")
        self.start_rest()
        sh(f"systemd-run --unit admin-rest rclone serve restic {AUTH} --addr 0.0.0.0:{ADMIN_PORT} /srv/restic")
        sh("systemd-run --unit alerts python3 /srv/receiver.py")
        sh(f"for i in $(seq 100); do ss -Hltn | grep -q ':{ALERT_PORT} ' && exit; sleep 0.1; done; exit 1")

    @property
    def address(self):
        return self.server.address()

    def start_rest(self):
        serve = f"rclone serve restic --append-only {AUTH} --addr 0.0.0.0:{REST_PORT} /srv/restic"
        self.server.sh(f"systemd-run --unit rest {serve}")
        self.server.sh(f"for i in $(seq 100); do ss -Hltn | grep -q ':{REST_PORT} ' && exit; sleep 0.1; done; exit 1")

    def stop_rest(self):
        self.server.sh("systemctl stop rest")

    def settings(self, name="microblog"):
        """The settings of a deploy that copies to the REST repository `name` (its credentials:
        CREDENTIALS, in the environment)."""
        return {
            "backup_repository": f"rest:http://{self.address}:{REST_PORT}/{name}",
            "backup_admin_repository": f"rest:http://{self.address}:{ADMIN_PORT}/{name}",
            "backup_secrets": sorted(CREDENTIALS),
        }

    def sftp_repository(self):
        return f"sftp:offsite@{self.address}:/srv/sftp-repo"

    @property
    def alert_url(self):
        return f"http://{self.address}:{ALERT_PORT}/alerts"

    def alerts(self):
        return self.server.sh("cat /srv/alerts.log 2>/dev/null || true")

    def remove(self):
        self.server.remove()
