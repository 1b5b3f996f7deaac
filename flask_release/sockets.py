"""This host's TCP sockets as the kernel lists them (/proc/net/tcp, tcp6): which account made
each, so that the release program tells its own from anyone else's. A color's listening socket is
made by root (app-exec binds it, then hands it to gunicorn as the app user): a socket of any other
account on that port is someone else's, and so is a client connection made by anyone but nginx."""

import os
import pwd
from dataclasses import dataclass

from .state import describe_process

LISTEN, ESTABLISHED = "0A", "01"


@dataclass(frozen=True)
class Socket:
    local: str  # ADDRESS:PORT in the kernel's hex
    remote: str
    state: str
    uid: int  # the account that made it (an accepted connection: the listening socket's)
    inode: int

    @property
    def port(self):
        return int(self.local.rsplit(":", 1)[1], 16)


def sockets(proc="/proc"):
    found = []
    for table in ("tcp", "tcp6"):
        try:
            with open(f"{proc}/net/{table}") as handle:
                lines = handle.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) >= 10:
                found.append(Socket(fields[1], fields[2], fields[3], int(fields[7]), int(fields[9])))
    return found


def listening(port, proc="/proc"):
    """The sockets listening on `port`, on any address."""
    return [entry for entry in sockets(proc) if entry.state == LISTEN and entry.port == port]


def foreign_listener(port, proc="/proc"):
    """Who listens on `port` other than root, or None: 'user deploy (uid 1000): process 123 (...)'."""
    foreign = [entry for entry in listening(port, proc) if entry.uid != 0]
    return describe(foreign[0], proc) if foreign else None


def connections_of(port, uids, proc="/proc"):
    """The open connections to this host's `port` from clients of the accounts `uids` on this
    host, or from other hosts: those of other local accounts do not count."""
    found = sockets(proc)
    local_clients = {(entry.local, entry.remote): entry for entry in found}
    open_ = []
    for entry in found:
        if entry.state != ESTABLISHED or entry.port != port:
            continue
        client = local_clients.get((entry.remote, entry.local))
        if client is None or client.uid in uids:
            open_.append(entry)
    return open_


def describe(entry, proc="/proc"):
    try:
        user = f"user {pwd.getpwuid(entry.uid).pw_name} (uid {entry.uid})"
    except KeyError:
        user = f"uid {entry.uid}"
    holders = [describe_process(pid, proc) for pid in holders_of(entry.inode, proc)]
    return f"{user}: {', '.join(holders)}" if holders else user


def holders_of(inode, proc="/proc"):
    """The PIDs holding the socket `inode` open (root reads every process's file table)."""
    wanted = f"socket:[{inode}]"
    pids = []
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        try:
            if any(os.readlink(f"{proc}/{pid}/fd/{fd}") == wanted for fd in os.listdir(f"{proc}/{pid}/fd")):
                pids.append(int(pid))
        except OSError:
            continue
    return sorted(pids)
