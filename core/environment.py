"""The environment variables of the deploy (also read from a local .env), each named once here."""

import getpass
import os
import re
import socket

from dotenv import load_dotenv

HOSTS = "DEPLOY_HOSTS"  # hosts holding every role not listed below
ROLE_HOSTS = {"web": "DEPLOY_WEB_HOSTS", "app": "DEPLOY_APP_HOSTS", "db": "DEPLOY_DB_HOST"}
SSH_USER = "DEPLOY_SSH_USER"
SSH_KEY = "DEPLOY_SSH_KEY"
SSH_PORT = "DEPLOY_SSH_PORT"
SSH_KNOWN_HOSTS = "DEPLOY_SSH_KNOWN_HOSTS"
TIMINGS_FILE = "DEPLOY_TIMINGS"  # a file for each operation's seconds (JSON; the benchmarks read it)
APP_REPO = "APP_REPO"  # the local server's `repo`
SECRET_KEY = "SECRET_KEY"  # noqa: S105 (the variable's name, not a secret)
DB_PASSWORD = "DB_PASSWORD"  # noqa: S105 (the variable's name, not a secret)
# The servers' package index with its credentials: kept on the app hosts like the secrets, given
# to pip in root's pip.conf, never in a command line or a world-readable file.
PIP_INDEX_URL = "DEPLOY_PIP_INDEX_URL"
BACKUP_PASSWORD = "BACKUP_PASSWORD"  # noqa: S105 (the variable's name): the off-site repository's, never generated
HOST_VARIABLES = (HOSTS, *ROLE_HOSTS.values())
OPERATOR = f"{getpass.getuser()}@{socket.gethostname()}"  # who deploys, for the servers' history

load_dotenv()


def get(name, default=None):
    return os.environ.get(name) or default


def real_servers_configured():
    """Whether the inventory lists servers; without any, the local server is the target."""
    return any(get(name) for name in HOST_VARIABLES)


def servers_by_role():
    """{role: [(name, host data)]} from the DEPLOY_* variables. A host is ADDRESS[:SSH_PORT]
    [=PRIVATE_ADDRESS]; each role's list defaults to DEPLOY_HOSTS."""
    user = get(SSH_USER, "root")
    known_hosts = os.path.abspath(os.path.expanduser(get(SSH_KNOWN_HOSTS, "~/.ssh/known_hosts")))
    # New servers' host keys are added on first contact (ssh's accept-new): the file must exist.
    os.makedirs(os.path.dirname(known_hosts), mode=0o700, exist_ok=True)
    if not os.path.exists(known_hosts):
        os.close(os.open(known_hosts, os.O_CREAT | os.O_WRONLY, 0o600))
    common = {
        "ssh_user": user,
        "_sudo": user != "root",
        "ssh_known_hosts_file": known_hosts,
        "ssh_strict_host_key_checking": "accept-new",
    }
    if get(SSH_KEY):
        common["ssh_key"] = get(SSH_KEY)
    if get(SSH_PORT):
        common["ssh_port"] = int(get(SSH_PORT))
    roles = {}
    for role, variable in ROLE_HOSTS.items():
        given = variable if get(variable) else HOSTS
        roles[role] = [
            _parse_host(entry.strip(), given, common) for entry in get(given, "").split(",") if entry.strip()
        ]
    # A private address given in one role's list holds for the host's other roles too.
    private = {
        name: data["private_address"] for hosts in roles.values() for name, data in hosts if "private_address" in data
    }
    for hosts in roles.values():
        for name, data in hosts:
            if name in private:
                data["private_address"] = private[name]
    return roles


def _parse_host(entry, variable, common):
    match = re.match(r"^(?P<address>\[[^\]]+\]|[^\s:=\[\]]+)(?::(?P<port>\d+))?(?:=(?P<private>\S+))?$", entry)
    if not match:
        raise ValueError(f"{variable}: {entry!r} is not ADDRESS, ADDRESS:SSH_PORT or either =PRIVATE_ADDRESS.")
    data = dict(common, ssh_hostname=match["address"].strip("[]"))
    if match["port"]:
        data["ssh_port"] = int(match["port"])
    if match["private"]:
        data["private_address"] = match["private"]
    return entry.split("=", 1)[0], data
