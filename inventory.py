"""Servers to deploy to.

With DEPLOY_HOSTS set (in the environment or a local .env), those servers: a comma-separated list
of host names or addresses, reached over SSH as DEPLOY_SSH_USER (default root; any other user
needs sudo) with the key DEPLOY_SSH_KEY (default: your SSH agent/config) on DEPLOY_SSH_PORT.
Without it, the local Debian 12 server of `make server` on 127.0.0.1. Edit this file for more.
"""

import os

from dotenv import load_dotenv

load_dotenv()

_here = os.path.dirname(os.path.abspath(__file__))
_state_dir = os.environ.get("LOCAL_SERVER_STATE_DIR", os.path.join(_here, ".local"))


def _real_servers():
    user = os.environ.get("DEPLOY_SSH_USER", "root")
    data = {"ssh_user": user, "_sudo": user != "root"}
    if os.environ.get("DEPLOY_SSH_KEY"):
        data["ssh_key"] = os.environ["DEPLOY_SSH_KEY"]
    if os.environ.get("DEPLOY_SSH_PORT"):
        data["ssh_port"] = int(os.environ["DEPLOY_SSH_PORT"])
    names = [name.strip() for name in os.environ["DEPLOY_HOSTS"].split(",") if name.strip()]
    return [(name, dict(data)) for name in names]


def _local_server():
    return [(
        "local-server",
        {
            "ssh_hostname": "127.0.0.1",
            "ssh_port": int(os.environ.get("LOCAL_SERVER_SSH_PORT", 2222)),
            "ssh_user": "root",
            "ssh_key": os.path.join(_state_dir, "id_ed25519"),
            # The container gets new host keys when it is recreated: a throwaway known_hosts.
            "ssh_known_hosts_file": os.path.join(_state_dir, "known_hosts"),
            "ssh_strict_host_key_checking": "accept-new",
            "repo": os.environ.get("APP_REPO", os.path.join(_state_dir, "sample-app")),
            # No public DNS name: HTTPS with a self-signed certificate, on the published port.
            "tls": "self-signed",
            "public_https_port": int(os.environ.get("LOCAL_SERVER_HTTPS_PORT", 8443)),
        },
    )]


servers = _real_servers() if os.environ.get("DEPLOY_HOSTS") else _local_server()
