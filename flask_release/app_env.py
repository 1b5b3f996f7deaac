"""The app's settings (its .env) in the process environment of what runs as the app user: gunicorn,
`flask` commands, the import check. `<app>-release app-exec COMMAND...` reads the .env as the app
user, puts its values into the environment and execs COMMAND in its place, so that apps which read
`os.environ` alone (twelve-factor) see them as apps that call load_dotenv() do, and no value ever
shows in a command line or in supervisor's config. Only the names the deploy writes reach the
environment: a name the app user adds (LD_PRELOAD, PYTHONPATH, ...) steers nothing.

Started by root (supervisor, for gunicorn), `app-exec --listen HOST:PORT` first binds that port
(a socket no other account can share), then becomes the app user and reads the .env as it; the
command gets the socket as file descriptor 3 (gunicorn -b fd://3).

The file is read as python-dotenv reads it (KEY=value, 'single' or "double" quotes, `export`,
comments), but without ${VAR} expansion; a line it cannot read stops the command, naming the line
number and never its text."""

import contextlib
import os
import pwd
import re
import signal
import socket
import time

from . import sockets

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "r": "\r", "t": "\t"}


class Unreadable(ValueError):
    pass


def parse(text):
    """{name: value} of a .env's text; Unreadable names the first line it cannot read."""
    values = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        name, equals, rest = line.partition("=")
        name = name.strip()
        if not equals or not NAME.fullmatch(name):
            raise Unreadable(f"line {number}: not NAME=value")
        try:
            values[name] = _value(rest.strip())
        except Unreadable as error:
            raise Unreadable(f"line {number}: {error}") from None
    return values


def _value(text):
    if text[:1] == "'":
        value, quote, rest = text[1:].partition("'")
        if not quote:
            raise Unreadable("no closing quote")
    elif text[:1] == '"':
        value, rest = _double_quoted(text[1:])
    else:
        return re.split(r"\s+#", text, maxsplit=1)[0].rstrip()
    if rest.strip() and not rest.strip().startswith("#"):
        raise Unreadable("text after the closing quote")
    return value


def _double_quoted(text):
    value, index = [], 0
    while index < len(text):
        char = text[index]
        if char == '"':
            return "".join(value), text[index + 1 :]
        if char == "\\" and index + 1 < len(text):
            following = text[index + 1]
            value.append(ESCAPES.get(following, "\\" + following))
            index += 2
            continue
        value.append(char)
        index += 1
    raise Unreadable("no closing quote")


LISTEN_FD = 3
BIND_SECONDS = 30  # how long the workers of a gunicorn killed without its master may keep the port


def exec_with(env_file, argv, names, user, listen=None):
    """Runs argv (in this process's place) with the settings `names` of env_file added to the
    environment. As root, first binds `listen` (HOST:PORT) and becomes `user`: root never reads
    what the app user can write."""
    if not argv:
        raise SystemExit("app-exec needs a command to run")
    if os.geteuid() == 0:
        if not listen:
            raise SystemExit("app-exec runs as the app user: as root, it needs --listen HOST:PORT first")
        listening(listen)
        become(user)
    elif listen:
        raise SystemExit("app-exec --listen is root's: the port is bound before becoming the app user")
    try:
        with open(env_file, encoding="utf-8") as handle:
            settings = parse(handle.read())
    except (OSError, UnicodeDecodeError, Unreadable) as error:
        detail = error.strerror if isinstance(error, OSError) else str(error)
        raise SystemExit(f"app-exec cannot read the app's settings in {env_file}: {detail}") from None
    os.environ.update({name: value for name, value in settings.items() if name in names})
    os.execvp(argv[0], argv)  # noqa: S606 (the command given, in this process's place)


def listening(address):
    """A socket listening on `address` (HOST:PORT, [IPv6]:PORT) as file descriptor LISTEN_FD, kept
    across exec. A socket of root's there is an earlier gunicorn's (workers outliving a killed
    master): they are stopped. Anyone else's stops this command, naming it."""
    host, _, port = address.rpartition(":")
    host, port = host.strip("[]"), int(port)
    server = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    deadline = time.monotonic() + BIND_SECONDS
    while True:
        try:
            server.bind((host, port))
            break
        except OSError as error:
            foreign = sockets.foreign_listener(port)
            if foreign or time.monotonic() > deadline:
                holder = foreign or "a process that does not let it go"
                raise SystemExit(f"app-exec cannot listen on {address} ({error.strerror}): {holder}") from None
            stop_holders(port)
            time.sleep(0.2)
    server.listen(2048)
    descriptor = server.detach()
    if descriptor != LISTEN_FD:
        os.dup2(descriptor, LISTEN_FD)
        os.close(descriptor)
    os.set_inheritable(LISTEN_FD, True)


def stop_holders(port):
    """What holds root's listening socket on `port` (an earlier gunicorn of this color) is stopped."""
    for entry in sockets.listening(port):
        for pid in sockets.holders_of(entry.inode) if entry.uid == 0 else ():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def become(user):
    account = pwd.getpwnam(user)
    os.initgroups(account.pw_name, account.pw_gid)
    os.setgid(account.pw_gid)
    os.setuid(account.pw_uid)
    os.environ.update(HOME=account.pw_dir, USER=account.pw_name, LOGNAME=account.pw_name)
