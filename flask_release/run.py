"""How the release program runs commands: as root, or as another account (the app user, the build
account) with a clean environment; each bounded by a timeout, its output relayed (made safe for
the operator's terminal) and logged.

SIGINT and SIGTERM become Interrupted, which the steps handle by going back; a lost SSH session
(SIGHUP, a closed output) does not stop a release: it goes on to its end, logged."""

import os
import pwd
import selectors
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

from .text import visible

SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOG_LIMIT = 2_000_000


class Failed(Exception):
    """A step failed; the message says why and what serves now."""


class Interrupted(Exception):
    pass


def _interrupt(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def handle_signals():
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


@contextmanager
def shielded():
    """Going back must not itself be interrupted: a signal meanwhile is acted on after it."""
    caught = []
    previous = {
        signum: signal.signal(signum, lambda number, frame: caught.append(number))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            raise Interrupted(signal.Signals(caught[0]).name)


@dataclass
class Result:
    code: int
    out: bytes
    err: bytes


class Runner:
    def __init__(self, app_name, log_path=None, out=None):
        self.prefix, self.log_path = f"[{app_name}]", log_path
        self.out = out or sys.stdout

    def say(self, message):
        self.write(f"{self.prefix} {message}\n")

    def write(self, text):
        text = visible(text)  # what commands print is theirs: it may hold escape sequences
        if self.out is not None:
            try:
                self.out.write(text)
                self.out.flush()
            except (OSError, ValueError):  # the deploy went away: carry on, logging
                self.out = None
        if self.log_path:
            try:
                if os.path.getsize(self.log_path) > LOG_LIMIT:
                    os.replace(self.log_path, self.log_path + ".1")
            except OSError:
                pass
            descriptor = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            with os.fdopen(descriptor, "a") as log:
                log.write(text)

    def run(
        self,
        argv,
        *,
        what,
        timeout,
        user=None,
        cwd=None,
        env=None,
        stdin=None,
        capture=False,
        check=True,
        pass_fds=(),
        to=None,
    ):
        """Runs argv, as root or as the account `user`; with `capture` returns its output, else
        relays it; with `to` (a file), its standard output goes there. Fails (Failed) on a
        non-zero exit when `check`, and after `timeout` seconds whatever it does (stopped, with
        all it started)."""
        kwargs = {"cwd": "/", "pass_fds": pass_fds}
        environment = {"PATH": SAFE_PATH, "LANG": "C.UTF-8", **(env or {})}
        if user:
            account = pwd.getpwnam(user)
            environment = {"HOME": account.pw_dir, "USER": account.pw_name, "LOGNAME": account.pw_name, **environment}
            # env -C changes into cwd as that account: root never follows another account's paths
            argv = ["env", "-i", *(["-C", cwd] if cwd else []), *(f"{k}={v}" for k, v in environment.items()), *argv]
            kwargs.update(
                user=account.pw_uid, group=account.pw_gid, extra_groups=[], env={"PATH": SAFE_PATH}, umask=0o022
            )
        else:
            kwargs.update(cwd=cwd or "/", env=environment)
        process = subprocess.Popen(
            argv,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=to if to is not None else subprocess.PIPE,
            stderr=subprocess.PIPE if capture else subprocess.STDOUT,
            start_new_session=True,
            **kwargs,
        )
        try:
            out, err = self._collect(process, timeout, capture)
        except BaseException:
            _stop(process)
            raise
        if out is None:
            raise Failed(f"{what} did not finish within {timeout} s, and was stopped")
        result = Result(process.returncode, out, err)
        if check and result.code != 0:
            detail = visible(result.err.decode(errors="replace").strip()) if capture else "see the errors above"
            raise Failed(f"{what} failed ({detail})" if detail else f"{what} failed")
        return result

    def _collect(self, process, timeout, capture):
        deadline = time.monotonic() + timeout
        chunks = {"out": [], "err": []}
        with selectors.DefaultSelector() as selector:
            if process.stdout:
                selector.register(process.stdout, selectors.EVENT_READ, "out")
            if capture:
                selector.register(process.stderr, selectors.EVENT_READ, "err")
            while selector.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    _stop(process)
                    return None, None
                for key, _ in selector.select(remaining):
                    data = os.read(key.fileobj.fileno(), 65536)
                    if not data:
                        selector.unregister(key.fileobj)
                    elif capture:
                        chunks[key.data].append(data)
                    else:
                        self.write(data.decode(errors="replace"))
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _stop(process)
            return None, None
        return b"".join(chunks["out"]), b"".join(chunks["err"])


def _stop(process):
    """The process and everything it started: they run in a session of their own."""
    for signum, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
