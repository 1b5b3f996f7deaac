"""`make deploy`/`make dry`/`make update`/`make rollback`: deploy to the servers of the inventory, or, with none
configured (no DEPLOY_HOSTS, DEPLOY_WEB_HOSTS, DEPLOY_APP_HOSTS or DEPLOY_DB_HOST), to the local Debian 12 server with the sample app."""

import os
import subprocess
import sys

from dotenv import load_dotenv

from tools import local_server

HOST_VARIABLES = ("DEPLOY_HOSTS", "DEPLOY_WEB_HOSTS", "DEPLOY_APP_HOSTS", "DEPLOY_DB_HOST")
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(pyinfra_args):
    load_dotenv(os.path.join(HERE, ".env"))
    local = not any(os.environ.get(variable) for variable in HOST_VARIABLES)
    if local:
        # The local server needs a Docker engine: installed and started when missing (Debian, root).
        if subprocess.run([os.path.join(HERE, "tools", "ensure_docker.sh")]).returncode != 0:
            return 1
        local_server.start(
            ssh_port=int(os.environ.get("LOCAL_SERVER_SSH_PORT", 2222)),
            http_port=int(os.environ.get("LOCAL_SERVER_HTTP_PORT", 8080)),
            https_port=int(os.environ.get("LOCAL_SERVER_HTTPS_PORT", 8443)),
        )
        sample = os.path.join(local_server.DEFAULT_STATE_DIR, "sample-app")
        if not os.environ.get("APP_REPO") and not os.path.isdir(sample):
            from tests import sample_repo

            sample_repo.build(sample)
    deploy_file = "deploy.py"
    if "--rollback" in pyinfra_args:
        pyinfra_args = [arg for arg in pyinfra_args if arg != "--rollback"]
        deploy_file = "rollback.py"
    confirm = [] if "--dry" in pyinfra_args else ["-y"]  # -y would skip --dry's change detection
    command = [os.path.join(os.path.dirname(sys.executable), "pyinfra"), *confirm, *pyinfra_args,
               "inventory.py", deploy_file]
    status = subprocess.run(command, cwd=HERE).returncode
    if status == 0 and local and "--dry" not in pyinfra_args:
        print(f"\nThe app is up: https://127.0.0.1:{os.environ.get('LOCAL_SERVER_HTTPS_PORT', 8443)}/ "
              "(self-signed certificate: your browser will ask you to accept it)")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
