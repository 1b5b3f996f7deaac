"""Checks before anything on a server changes, each problem named with the setting and the fix.

Before any connection: that every name given is a setting (a typo is named), the settings of
every host (group_data, inventory.py and --data, as pyinfra merged them), the secrets given in
the environment, the roles of the hosts, then that each server's SSH port answers and takes the
key. Once connected to a server: that the SSH user may sudo, and that `app_user` is not an
account of the system. config.py registers it; deploy files call checked() in case it could not
run."""

import os
import socket

import gevent
from gevent.lock import Semaphore
from pyinfra.api import StringCommand
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.state import BaseStateCallback

from core.settings import environment
from core.settings.app_settings import secret_names
from core.settings.checks import problems, roles_problems
from core.settings.names import inventory_sources, unknown_problems
from core.settings.roles import layouts, private_address
from core.settings.secrets import secret_problems
from flask_release.config import build_user_for

LOCAL_SERVER = "local-server"


class PreflightFailed(PyinfraError):
    """pyinfra prints the message; gevent, in whose greenlet it rises, need not print a traceback."""


gevent.get_hub().NOT_ERROR += (PreflightFailed,)
_checked = Semaphore()
_done = []


def checked(state):
    """Runs the checks of the settings and roles, unless the preflight did before connecting."""
    with _checked:
        if not _done:
            before_connecting(state.inventory, ssh=False)
            _done.append(True)


class Preflight(BaseStateCallback):
    @staticmethod
    def host_before_connect(state, host):
        with _checked:  # once, for every host, before the first connection
            if not _done:
                before_connecting(state.inventory)
                _done.append(True)

    @staticmethod
    def host_connect(state, host):
        once_connected(state, host)


def before_connecting(inventory, ssh=True):
    found = unknown_problems(inventory_sources(inventory))
    if found:
        raise PreflightFailed("Settings need fixing before anything changes:\n  - " + "\n  - ".join(found))
    hosts = list(inventory)
    external_db = any(member.data.get("db_host") for member in hosts)
    addresses = {member.name: private_address(member.data, member.name) for member in hosts}
    found = list(
        dict.fromkeys(
            problem for layout in layouts(inventory) for problem in roles_problems(layout, addresses, external_db)
        )
    )
    if found:
        raise PreflightFailed("The servers need fixing before anything changes:\n  - " + "\n  - ".join(found))
    for member in hosts:
        found = problems(member.data)
        if found:
            raise PreflightFailed(
                f"Settings of {member.name} need fixing before anything changes:\n  - " + "\n  - ".join(found)
            )
    found = secret_problems(sorted({name for member in hosts for name in secret_names(member.data)}))
    if external_db and not environment.get(environment.DB_PASSWORD):
        found.append(
            "db_host names an external database: set DB_PASSWORD (the password of db_user there) in this machine's "
            "environment or local .env."
        )
    if found:
        raise PreflightFailed("Secrets need fixing before anything changes:\n  - " + "\n  - ".join(found))
    for member in hosts if ssh else ():
        check_ssh(member.name, member.data)


def check_ssh(name, data):
    """An SSH port that does not answer, or a key the server refuses, is named with the settings
    to fix, before pyinfra tries."""
    address, port, user = data.get("ssh_hostname") or name, data.get("ssh_port") or 22, data.get("ssh_user") or "root"
    local = " For the local server: make server." if name == LOCAL_SERVER else ""
    try:
        sock = socket.create_connection((address, port), timeout=10)
    except OSError as error:
        raise PreflightFailed(
            f"{name}: nothing answers on {address}:{port} ({error.strerror or error}). Check the address "
            f"({environment.HOSTS}), the SSH port ({environment.SSH_PORT}), that the server runs sshd, "
            f"and its firewall.{local}"
        ) from None
    with sock:
        key = data.get("ssh_key")
        if key and not key_accepted(sock, user, key):
            raise PreflightFailed(
                f"{name}: the server refuses the SSH key {key} for the user {user}. Check {environment.SSH_KEY} and "
                f"{environment.SSH_USER}, or put the key's public half on the server: ssh-copy-id -i {key}.pub -p "
                f"{port} {user}@{address}" + (" For the local server: make clean, then make server." if local else "")
            )


def key_accepted(sock, user, key_file):
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


def once_connected(state, host):
    user = host.data.get("ssh_user")
    asks_password = host.data.get("_use_sudo_password") or getattr(state.config, "USE_SUDO_PASSWORD", False)
    if host.data.get("_sudo") and not asks_password:
        # (sudo's own message would make pyinfra ask for a password)
        _, output = host.run_shell_command(
            "sudo -n true 2>/dev/null && echo yes || echo no", print_output=False, print_input=False
        )
        if output.stdout_lines != ["yes"]:
            raise PreflightFailed(
                f"{user} on {host.name} cannot use sudo without a password, and the deploy needs it. Grant it "
                f"(as root: echo '{user} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/{user}), connect as root "
                f"({environment.SSH_USER}=root), or add --use-sudo-password."
            )
    # Facts would connect again: the host counts as connected only after this callback.
    accounts = {
        "app_user": host.data.app_user,
        "build_user": build_user_for(host.data.app_user, host.data.get("build_user")),
    }
    _, output = host.run_shell_command(
        StringCommand("getent", "passwd", *accounts.values()), print_output=False, print_input=False
    )
    uids = {
        fields[0]: int(fields[2])
        for fields in (line.split(":") for line in output.stdout_lines)
        if len(fields) > 2 and fields[2].isdigit()
    }
    for setting, user in accounts.items():
        if uids.get(user, 1000) < 1000:
            raise PreflightFailed(
                f"`{setting}` = {user!r} is an account of the system on {host.name} (uid {uids[user]}): choose a "
                "name of the app's own, e.g. deploy."
            )
