"""Operations that run the release program of a host (flask_release, /usr/local/sbin/<app>-release)."""

import io
import os
import subprocess
import tempfile

from pyinfra import host, logger
from pyinfra.api import FileUploadCommand, FunctionCommand, QuoteString, StringCommand, operation
from pyinfra.api.exceptions import OperationError
from pyinfra.api.state import StateStage

from facts.git import HasCommit
from facts.release import HealthCheck, ReleaseStatus
from flask_release.identity import same_release

LIVE_SECONDS = 10  # how long the live color may take to answer (it fails at once when supervisor gave up)


@operation()
def ship_commits(local_repo: str, ref: str, commit: str, program: str, bundle: str, repository: str, user: str):
    """Ensures the server's repository holds `ref` at `commit`, shipped as a git bundle from a
    repository on this machine (for servers that cannot reach the git host, and private ones)."""
    if host.get_fact(HasCommit, path=repository, commit=commit, _sudo=True, _sudo_user=user):
        return
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "release.bundle")
        result = subprocess.run(
            ["git", "-C", local_repo, "bundle", "create", path, ref], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise OperationError(f"git bundle create in {local_repo} failed: {result.stderr.strip()}")
        with open(path, "rb") as handle:
            content = handle.read()
    yield FileUploadCommand(io.BytesIO(content), bundle)
    yield StringCommand(QuoteString(program), "receive", QuoteString(bundle))


def _report(state, host, program, before):  # pyinfra passes state and host to a function so named
    """Says which release serves now, as pyinfra prints operations (the program's own output shows
    with -vvv, or when it fails)."""
    serving = (host.get_fact(ReleaseStatus, program=program) or {}).get("serving")
    if serving != before:
        change = f"{before} -> {serving}" if before else f"{serving}, the first"
        logger.info(f"{host.print_prefix}release {change}")
    return True


def breaking_migrations(migrating_host, program):
    """An _if condition: whether the release the build left waiting on `migrating_host` (a Host)
    has migrations not backward compatible, as its program says when the condition is asked."""

    def condition():
        pending = (migrating_host.get_fact(ReleaseStatus, program=program) or {}).get("pending") or {}
        return bool(pending.get("breaking"))

    return condition


def _program(program, arguments, report):
    # pyinfra runs each command as it is yielded: what serves before is asked before the program runs
    before = (host.get_fact(ReleaseStatus, program=program) or {}).get("serving") if report else None
    yield StringCommand(QuoteString(program), *(QuoteString(str(argument)) for argument in arguments))
    if report:
        yield FunctionCommand(_report, (program, before), {})


@operation(is_idempotent=False)
def run_program(program: str, arguments: list, target=None, pip_key: str = "", report: bool = False):
    """Runs the release program with `arguments`, unless its status says `target` serves already
    (asked again when the operation runs: an interrupted run may have finished it meanwhile);
    with `report`, then says which release serves."""
    if same_release((host.get_fact(ReleaseStatus, program=program) or {}).get("release"), target, pip_key):
        return
    yield from _program(program, arguments, report)


@operation(is_idempotent=False)
def start_prebuild(program: str, arguments: list):
    """Starts the release program's `prebuild` in the background, a transient systemd service of
    its own (its output in the program's log, not the deploy's), and returns at once."""
    yield StringCommand(
        "systemd-run",
        "--quiet",
        "--collect",
        "--service-type=exec",
        QuoteString(f"--description={os.path.basename(program)} prebuild"),
        "--property=StandardOutput=null",
        "--property=StandardError=null",
        QuoteString(program),
        *(QuoteString(str(argument)) for argument in arguments),
    )


@operation(is_idempotent=False)
def on_hosts(hosts: list, program: str, arguments: list, report: bool = False):
    """Runs the release program on the hosts named in `hosts`; the others do nothing. Every host
    calls it at the same place of the deploy, so it runs once all before it is done everywhere."""
    if host.name in hosts:
        yield from _program(program, arguments, report)


def _offsite_check(state, host, program):  # pyinfra passes state and host to a function so named
    ok, output = host.run_shell_command(
        StringCommand(QuoteString(program), "offsite-check"), print_output=False, print_input=False
    )
    said = (output.stdout_lines + output.stderr_lines or ["no answer"])[-1]
    if not ok:
        logger.warning(f"{host.print_prefix}{said}; the releases go on, their dumps kept here alone")
    return True


@operation(is_idempotent=False)
def offsite_answers(program: str):
    """Changes nothing but makes a repository where there is none: says, as a warning, when the
    off-site repository does not answer or refuses the password."""
    yield FunctionCommand(_offsite_check, (program,), {})


@operation()
def all_hosts_ready():
    """Changes nothing. Every host calls it at the same place of the deploy, so the operations
    after it start once every host has done all those before it."""
    yield from ()


@operation()
def app_running(program: str):
    """Ensures the app's gunicorn answers on its own port once a release serves: when it does not
    (supervisor has it stopped or FATAL, or in a crash loop, STARTING again and again), the serving
    release is started again in the other color, checked and switched to."""
    if not (host.get_fact(ReleaseStatus, program=program) or {}).get("serving"):
        return
    wait = LIVE_SECONDS if host.state.current_stage == StateStage.Execute else 0
    if not host.get_fact(HealthCheck, program=program, wait=wait, live=True)["healthy"]:
        yield StringCommand(QuoteString(program), "reload")


@operation()
def site_answers(program: str, seconds: int, what: str):
    """Changes nothing: fails, naming what answered, when the health check does not pass."""
    wait = seconds if host.state.current_stage == StateStage.Execute else 0
    health = host.get_fact(HealthCheck, program=program, wait=wait)
    if not health["healthy"]:
        message = f"{what} does not serve: {health['detail']}"
        yield StringCommand("echo", QuoteString(message), ">&2;", "exit", "1")
