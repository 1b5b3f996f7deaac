"""Runs bench/ansible/site.yml (the article's steps as an Ansible playbook) against one of the
test bed's servers, with ansible-core from PyPI in a venv of its own (.local/bench-ansible)."""

import os
import secrets
import subprocess
import tempfile
import time

from testbed.local_server import STATE_DIR

ANSIBLE_CORE = "ansible-core==2.19.14"
HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(STATE_DIR, "bench-ansible")


def ansible_playbook():
    program = os.path.join(VENV, "bin", "ansible-playbook")
    if not os.path.exists(program):
        subprocess.run(["python3", "-m", "venv", VENV], check=True)
        installed = subprocess.run(
            [os.path.join(VENV, "bin", "pip"), "install", "-q", ANSIBLE_CORE], capture_output=True, text=True
        )
        assert installed.returncode == 0, installed.stdout + installed.stderr
    return program


class Playbook:
    """The playbook, its inventory and variables for one server; run() returns its seconds."""

    def __init__(self, server, repo):
        self.server, self.folder = server, tempfile.mkdtemp()
        self.bundle = os.path.join(self.folder, "app.bundle")
        subprocess.run(["git", "-C", repo, "bundle", "create", self.bundle, "--all"], check=True, capture_output=True)
        self.inventory = os.path.join(self.folder, "inventory.ini")
        with open(self.inventory, "w") as handle:
            handle.write(
                f"[server]\n127.0.0.1 ansible_port={server.ssh_port} ansible_user=root "
                f"ansible_ssh_private_key_file={os.path.join(server.state_dir, 'id_ed25519')} "
                "ansible_python_interpreter=/usr/bin/python3 "
                "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'\n"
            )
        self.variables = {
            "bundle": self.bundle,
            "secret_key": secrets.token_hex(24),
            "db_password": secrets.token_hex(12),
        }

    def run(self, tag):
        program = ansible_playbook()
        extra = [arg for name, value in {**self.variables, "tag": tag}.items() for arg in ("-e", f"{name}={value}")]
        environment = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PIPELINING="True")
        start = time.time()
        result = subprocess.run(
            [program, "-i", self.inventory, os.path.join(HERE, "ansible", "site.yml"), *extra],
            capture_output=True,
            text=True,
            env=environment,
        )
        seconds = time.time() - start
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return seconds
