"""Servers to deploy to, grouped by role: `web` (nginx, TLS), `app` (gunicorn, releases,
migrations) and `db` (MariaDB).

Set in the environment or a local .env, each a comma-separated list of hosts:
  DEPLOY_HOSTS       hosts that hold every role not given below (one host: the whole stack)
  DEPLOY_WEB_HOSTS   web hosts (default DEPLOY_HOSTS)
  DEPLOY_APP_HOSTS   app hosts (default DEPLOY_HOSTS)
  DEPLOY_DB_HOST     the database host, one (default DEPLOY_HOSTS)
A host is ADDRESS, ADDRESS:SSH_PORT, or either followed by =PRIVATE_ADDRESS: the IP address the
other hosts reach it at (default ADDRESS), needed when the roles are spread over several hosts.
SSH as DEPLOY_SSH_USER (default root; any other user needs sudo) with the key DEPLOY_SSH_KEY
(default: your SSH agent/config) on DEPLOY_SSH_PORT; host keys in DEPLOY_SSH_KNOWN_HOSTS (default
~/.ssh/known_hosts), new ones accepted on first contact.
With none of them set, the local Debian 12 server of `make server` on 127.0.0.1 holds every role.
Edit this file for more.
"""

import os
import re
import runpy
import sys

from dotenv import load_dotenv

load_dotenv()

_here = os.path.dirname(os.path.abspath(__file__))
_state_dir = os.environ.get("LOCAL_SERVER_STATE_DIR", os.path.join(_here, ".local"))
_ROLE_VARIABLES = {"web": "DEPLOY_WEB_HOSTS", "app": "DEPLOY_APP_HOSTS", "db": "DEPLOY_DB_HOST"}
_HOST_ENTRY = re.compile(r"^(?P<address>\[[^\]]+\]|[^\s:=\[\]]+)(?::(?P<port>\d+))?(?:=(?P<private>\S+))?$")


def _configured():
    return any(os.environ.get(variable) for variable in ("DEPLOY_HOSTS", *_ROLE_VARIABLES.values()))


def _parse_host(entry, variable, common):
    match = _HOST_ENTRY.match(entry)
    if not match:
        from pyinfra.api.exceptions import PyinfraError

        raise PyinfraError(f"{variable}: {entry!r} is not ADDRESS, ADDRESS:SSH_PORT or either =PRIVATE_ADDRESS.")
    address = match["address"].strip("[]")
    name = entry.split("=", 1)[0]
    data = dict(common, ssh_hostname=address)
    if match["port"]:
        data["ssh_port"] = int(match["port"])
    if match["private"]:
        data["private_address"] = match["private"]
    return name, data


def _real_servers():
    """{role: [(name, data)]} from the DEPLOY_* settings."""
    user = os.environ.get("DEPLOY_SSH_USER", "root")
    known_hosts = os.path.abspath(os.path.expanduser(os.environ.get("DEPLOY_SSH_KNOWN_HOSTS", "~/.ssh/known_hosts")))
    # New servers' host keys are added on first contact (ssh's accept-new): the file must exist.
    os.makedirs(os.path.dirname(known_hosts), mode=0o700, exist_ok=True)
    if not os.path.exists(known_hosts):
        os.close(os.open(known_hosts, os.O_CREAT | os.O_WRONLY, 0o600))
    common = {"ssh_user": user, "_sudo": user != "root", "ssh_known_hosts_file": known_hosts,
              "ssh_strict_host_key_checking": "accept-new"}
    if os.environ.get("DEPLOY_SSH_KEY"):
        common["ssh_key"] = os.environ["DEPLOY_SSH_KEY"]
    if os.environ.get("DEPLOY_SSH_PORT"):
        common["ssh_port"] = int(os.environ["DEPLOY_SSH_PORT"])
    roles = {}
    for role, variable in _ROLE_VARIABLES.items():
        given = variable if os.environ.get(variable) else "DEPLOY_HOSTS"
        entries = [entry.strip() for entry in os.environ.get(given, "").split(",") if entry.strip()]
        roles[role] = [_parse_host(entry, given, common) for entry in entries]
    # A private address given in one role's list holds for the host's other roles too.
    private = {name: data["private_address"] for hosts in roles.values() for name, data in hosts
               if "private_address" in data}
    for hosts in roles.values():
        for name, data in hosts:
            if name in private:
                data["private_address"] = private[name]
    return roles


def _local_server():
    server = (
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
    )
    return {role: [server] for role in _ROLE_VARIABLES}


def _settings_given_on_the_command_line():
    """The `--data NAME=VALUE` pairs of this pyinfra run, valued as pyinfra values them."""
    from pyinfra_cli.util import parse_cli_arg

    given, args = {}, sys.argv[1:]
    for index, arg in enumerate(args):
        pair = args[index + 1] if arg == "--data" and index + 1 < len(args) else arg[7:] if arg.startswith("--data=") else ""
        if "=" in pair:
            name, value = pair.split("=", 1)
            given[name] = parse_cli_arg(value)
    return given


def _check_settings(hosts):
    """Bad settings stop the run before any connection; deploy.py checks again with every group's data."""
    from pyinfra.api.exceptions import PyinfraError

    from tasks.checks import problems

    defaults = runpy.run_path(os.path.join(_here, "group_data", "all.py"))
    given = _settings_given_on_the_command_line()
    for name, data in hosts:
        found = problems({**defaults, **data, **given})
        if found:
            raise PyinfraError(f"Settings of {name} need fixing before anything changes:\n  - " + "\n  - ".join(found))


def _check_ssh(hosts):
    """An SSH port that does not answer, or a key the server refuses, is named with the settings to fix,
    before pyinfra tries."""
    import socket

    from pyinfra.api.exceptions import PyinfraError

    for name, data in hosts:
        address, port = data["ssh_hostname"], data.get("ssh_port", 22)
        try:
            sock = socket.create_connection((address, port), timeout=10)
        except OSError as error:
            raise PyinfraError(
                f"{name}: nothing answers on {address}:{port} ({error.strerror or error}). Check the address "
                "(DEPLOY_HOSTS), the SSH port (DEPLOY_SSH_PORT), that the server runs sshd, and its firewall."
                + (" For the local server: make server." if name == "local-server" else ""))
        with sock:
            if data.get("ssh_key") and not _key_accepted(sock, data["ssh_user"], data["ssh_key"]):
                raise PyinfraError(
                    f"{name}: the server refuses the SSH key {data['ssh_key']} for the user {data['ssh_user']}. "
                    "Check DEPLOY_SSH_KEY and DEPLOY_SSH_USER, or put the key's public half on the server: "
                    f"ssh-copy-id -i {data['ssh_key']}.pub -p {port} {data['ssh_user']}@{address}"
                    + (" For the local server: make clean, then make server." if name == "local-server" else ""))


def _key_accepted(sock, user, key_file):
    """Whether the server takes this key; True when that cannot be told here (pyinfra then says why)."""
    import paramiko

    try:
        key = paramiko.PKey.from_path(os.path.expanduser(key_file))
    except (OSError, paramiko.SSHException):  # missing, or protected by a passphrase: pyinfra reports it
        return True
    # The host key is checked by pyinfra right after: a key signature tells a wrong server nothing.
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=10)
        transport.auth_publickey(user, key)
        return True
    except paramiko.AuthenticationException:
        return False
    except paramiko.SSHException:
        return True
    finally:
        transport.close()


def _check_layout(roles):
    from pyinfra.api.exceptions import PyinfraError

    from tasks.checks import layout_problems
    from tasks.layout import private_address

    found = layout_problems({role: [name for name, _ in hosts] for role, hosts in roles.items()},
                            {name: private_address(data, name) for hosts in roles.values() for name, data in hosts})
    if found:
        raise PyinfraError("The servers need fixing before anything changes:\n  - " + "\n  - ".join(found))


_roles = _real_servers() if _configured() else _local_server()
_hosts = list({name: data for hosts in _roles.values() for name, data in hosts}.items())
_check_layout(_roles)
_check_settings(_hosts)
_check_ssh(_hosts)
web, app, db = _roles["web"], _roles["app"], _roles["db"]
