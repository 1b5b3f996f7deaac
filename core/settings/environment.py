"""The environment variables of the deploy (also read from a local .env), each named once here."""

import fnmatch
import getpass
import os
import re
import runpy
import socket
import types

from dotenv import load_dotenv

# Each variable: NAME = "VARIABLE"  # what it is (docs/settings.md lists them from these lines).
HOSTS = "DEPLOY_HOSTS"  # hosts holding every role the three below do not give (one host: the whole stack)
WEB_HOSTS = "DEPLOY_WEB_HOSTS"  # web hosts (nginx, TLS), comma-separated; default DEPLOY_HOSTS
APP_HOSTS = "DEPLOY_APP_HOSTS"  # app hosts (gunicorn, releases; the first migrates); default DEPLOY_HOSTS
DB_HOST = "DEPLOY_DB_HOST"  # the database host, one; default DEPLOY_HOSTS
SSH_USER = "DEPLOY_SSH_USER"  # the SSH user; default root (any other user needs sudo)
SSH_KEY = "DEPLOY_SSH_KEY"  # the SSH private key file; default your SSH agent's keys
SSH_PORT = "DEPLOY_SSH_PORT"  # the SSH port of every host; default 22 (or ADDRESS:PORT per host)
SSH_KNOWN_HOSTS = "DEPLOY_SSH_KNOWN_HOSTS"  # host keys, new ones added at first contact; default ~/.ssh/known_hosts
SSH_CONFIG = "DEPLOY_SSH_CONFIG"  # an ssh_config file: a host named as its Host takes its address, port, user, key
SETTINGS_FILE = "DEPLOY_SETTINGS"  # a settings file (Python, as group_data/all.py) every host takes over group_data's
TIMINGS_FILE = "DEPLOY_TIMINGS"  # a file for each operation's seconds (JSON; the benchmarks read it)
APP_REPO = "APP_REPO"  # the local server's `repo` (default: the sample app)
SECRET_KEY = "SECRET_KEY"  # secret: the app's; made on the first deploy when not given, then kept on the server
DB_PASSWORD = "DB_PASSWORD"  # secret: db_user's password; generated likewise (required with db_host)
PIP_INDEX_URL = "DEPLOY_PIP_INDEX_URL"  # secret: a package index with its credentials, kept in root's pip.conf alone
BACKUP_PASSWORD = "BACKUP_PASSWORD"  # secret: the off-site repository's password, never generated
ROLE_HOSTS = {"web": WEB_HOSTS, "app": APP_HOSTS, "db": DB_HOST}
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
    [=PRIVATE_ADDRESS]; each role's list defaults to DEPLOY_HOSTS. An ADDRESS that is a Host of
    DEPLOY_SSH_CONFIG takes its HostName, Port, User, IdentityFile and UserKnownHostsFile (the
    DEPLOY_SSH_* variables, when set, take precedence). Every host takes DEPLOY_SETTINGS's settings."""
    settings = settings_file()
    config = _ssh_config()
    roles = {}
    for role, variable in ROLE_HOSTS.items():
        given = variable if get(variable) else HOSTS
        roles[role] = [
            _parse_host(entry.strip(), given, config, settings) for entry in get(given, "").split(",") if entry.strip()
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


def settings_file(path=None):
    """{name: value} of the settings file `path`, default DEPLOY_SETTINGS ({} without one)."""
    path = path or get(SETTINGS_FILE)
    if not path:
        return {}
    if not os.path.isfile(os.path.expanduser(path)):
        raise ValueError(f"{SETTINGS_FILE}: {path!r} is not a file: give the path of a settings file (Python).")
    return settings_in(os.path.expanduser(path))


def settings_in(path):
    """{name: value} of what a settings file (Python: NAME = VALUE lines) sets, imports left out."""
    values = runpy.run_path(path)
    return {
        name: value
        for name, value in values.items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType | types.FunctionType | type)
    }


def _ssh_config():
    """[(Host patterns, {keyword: value})] of the DEPLOY_SSH_CONFIG file, in its order, or None."""
    path = get(SSH_CONFIG)
    if not path:
        return None
    if not os.path.isfile(os.path.expanduser(path)):
        raise ValueError(f"{SSH_CONFIG}: {path!r} is not a file: give the path of an ssh_config file.")
    blocks = [(["*"], {})]
    with open(os.path.expanduser(path)) as handle:
        for line in handle:
            keyword, _, value = line.strip().replace("=", " ", 1).partition(" ")
            keyword, value = keyword.lower(), value.strip().strip('"')
            if not keyword or keyword.startswith("#"):
                continue
            if keyword == "host":
                blocks.append((value.split(), {}))
            else:
                blocks[-1][1].setdefault(keyword, value)
    return blocks


def _ssh_lookup(config, address):
    """{keyword: value} for `address`, as ssh reads its config: the first value of each keyword in the
    Host blocks that match. Read here, not by paramiko, whose lookup resolves this machine's own name
    (a reverse DNS query, seconds without a resolver) at every call."""
    found = {}
    for patterns, options in config or ():
        hits = [pattern for pattern in patterns if fnmatch.fnmatch(address, pattern.lstrip("!"))]
        # a block matches when a pattern does and no negated one (`!pattern`) does
        if hits and not any(pattern.startswith("!") for pattern in hits):
            for keyword, value in options.items():
                found.setdefault(keyword, value)
    return found


def _connection(address, config):
    """pyinfra's SSH data for `address`: the DEPLOY_SSH_* variables over its ssh_config entry."""
    found = _ssh_lookup(config, address)
    user = get(SSH_USER) or found.get("user") or "root"
    key = get(SSH_KEY) or found.get("identityfile")
    port = get(SSH_PORT) or found.get("port")
    known_hosts = get(SSH_KNOWN_HOSTS) or next(iter(found.get("userknownhostsfile", "").split()), None)
    known_hosts = os.path.abspath(os.path.expanduser(known_hosts or "~/.ssh/known_hosts"))
    # New servers' host keys are added on first contact (ssh's accept-new): the file must exist.
    os.makedirs(os.path.dirname(known_hosts), mode=0o700, exist_ok=True)
    if not os.path.exists(known_hosts):
        os.close(os.open(known_hosts, os.O_CREAT | os.O_WRONLY, 0o600))
    data = {
        "ssh_hostname": found.get("hostname") or address,
        "ssh_user": user,
        "_sudo": user != "root",
        "ssh_known_hosts_file": known_hosts,
        "ssh_strict_host_key_checking": "accept-new",
    }
    if key:
        data["ssh_key"] = os.path.expanduser(key)
    if port:
        data["ssh_port"] = int(port)
    return data


def _parse_host(entry, variable, config, settings):
    match = re.match(r"^(?P<address>\[[^\]]+\]|[^\s:=\[\]]+)(?::(?P<port>\d+))?(?:=(?P<private>\S+))?$", entry)
    if not match:
        raise ValueError(f"{variable}: {entry!r} is not ADDRESS, ADDRESS:SSH_PORT or either =PRIVATE_ADDRESS.")
    data = {**settings, **_connection(match["address"].strip("[]"), config)}
    if match["port"]:
        data["ssh_port"] = int(match["port"])
    if match["private"]:
        data["private_address"] = match["private"]
    return entry.split("=", 1)[0], data
