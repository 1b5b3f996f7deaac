"""`make deploy`/`make dry`/`make update`/`make rollback`/`make remove`: deploy to the servers of the inventory, or,
with none configured (no DEPLOY_* host), to the local Debian server with the sample app."""

import os
import subprocess
import sys

from core.settings import environment
from testbed import local_server, repos

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OTHER_DEPLOYS = {"--rollback": "rollback.py", "--remove": "remove.py"}  # make_deploy's own options


def main(pyinfra_args):
    local = not environment.real_servers_configured()
    if local:
        # The local server needs a Docker engine: installed and started when missing (Debian, root).
        if subprocess.run([os.path.join(HERE, "tools", "ensure_docker.sh")]).returncode != 0:
            return 1
        local_server.start()
        sample = os.path.join(local_server.STATE_DIR, "sample-app")
        if not environment.get(environment.APP_REPO) and not os.path.isdir(sample):
            repos.build(sample)
        os.environ.update(local_server.handover())  # the local server, handed over as a real one is
    deploy_file = next((OTHER_DEPLOYS[arg] for arg in pyinfra_args if arg in OTHER_DEPLOYS), "deploy.py")
    pyinfra_args = [arg for arg in pyinfra_args if arg not in OTHER_DEPLOYS]
    status = run_pyinfra(pyinfra_args, deploy_file)
    if status == 0 and local and "--dry" not in pyinfra_args and deploy_file != "remove.py":
        name = environment.settings_file()["server_names"][0]  # the handover's file: the app's names
        print(
            f"\nThe app is up: https://{name}:{local_server.port(local_server.HTTPS_PORT)}/ "
            "(self-signed certificate: your browser will ask you to accept it)"
        )
    return status


def run_pyinfra(pyinfra_args=(), deploy_file="deploy.py"):
    """`pyinfra -y [args] inventory.py DEPLOY_FILE` on the servers the inventory names; its exit status."""
    confirm = [] if "--dry" in pyinfra_args else ["-y"]  # -y would skip --dry's change detection
    command = [os.path.join(os.path.dirname(sys.executable), "pyinfra"), *confirm, *pyinfra_args, "inventory.py"]
    return subprocess.run([*command, deploy_file], cwd=HERE).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
