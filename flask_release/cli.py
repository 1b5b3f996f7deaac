"""<app>-release COMMAND: the commands the deploy runs on a host, and that an operator may run.

  status [--json]           the serving release, the previous one, the releases kept, the history
  deploy [--fetch] [--ref R] [--commit C]
                            build, migrate and switch in one transaction (one app host)
  build [--fetch] [--ref R] [--commit C] | migrate | switch
                            the same in phases, for a rolling update over several app hosts
  prebuild [--fetch] [--ref R] [--commit C]
                            the release's code and venv only, built ahead while the deploy does
                            other work (a release waits for it up to git_timeout_seconds + build_timeout_seconds)
  rollback | rollback-switch | rollback-database
                            back to the previous release, in one go or in phases
  receive BUNDLE            the commits of a bundle the deploy shipped, into the repository
  reload                    the serving release started again in the other color (new settings), switched to
  start-live                the live color started (supervisor runs it at boot)
  report [--json]           how this host does (release, gunicorn, health, certificate, MariaDB,
                            backups, disk, firewall): exit status 1 when anything is unhealthy
  history [--json]          every release, rollback, restore and failure: who, when, which commit, how long
  backup [--nightly] | backups [--json] | restore [--dump NAME | --snapshot ID]
                            a dump of the database now (nightly: off-site, drilled); the dumps
                            kept and the off-site snapshots; one restored (default: the newest
                            dump; latest: the newest snapshot), after a dump of the database as it is
  offsite-check             the off-site repository answers (made when there is none yet)
  maintenance on|off        this web host's nginx answers 503 (but to the servers' own health
                            checks and ACME), or serves again
  check [--wait S] [--live] [--json]
                            the health check alone (--live: whether the live color's gunicorn answers at all)
  app-exec [--listen HOST:PORT] COMMAND...
                            COMMAND with the app's .env in its environment, as the app user
                            (gunicorn, flask); as root (supervisor), binding HOST:PORT first

The settings come from /etc/<app>/release.json, <app> being this program's name minus
"-release". Exit status: 0 done, 1 failed (the message says what serves), 2 refused."""

import argparse
import json
import os
import sys

from . import app_env
from .alerts import alert
from .backups import record_nightly
from .config import Config
from .identity import Refused
from .report import report
from .run import Failed, Interrupted, Runner, handle_signals
from .state import PREBUILD, Lock, LockTimeout, State
from .steps import Steps

READ_ONLY = {"status", "check", "report", "history", "backups", "offsite-check"}  # (no release lock)


def parser():
    main = argparse.ArgumentParser(prog=os.path.basename(sys.argv[0]), description=__doc__.split("\n")[0])
    main.add_argument("--config", help="settings file (default: /etc/<app>/release.json)")
    main.add_argument(
        "--by",
        default=os.environ.get("SUDO_USER") or os.environ.get("USER") or "root",
        help="who runs the release, for the history",
    )
    commands = main.add_subparsers(dest="command", required=True)
    for name in ("status", "report", "history", "backups"):
        commands.add_parser(name).add_argument("--json", action="store_true")
    commands.add_parser("backup").add_argument("--nightly", action="store_true", help="kept by backups_nightly_keep")
    restore = commands.add_parser("restore")
    restore.add_argument("--dump", help="the dump's file name (default: the newest)")
    restore.add_argument("--snapshot", help="an off-site snapshot's id, or latest")
    commands.add_parser("offsite-check")
    commands.add_parser("maintenance").add_argument("mode", choices=("on", "off"))
    for name in ("deploy", "build", PREBUILD):
        command = commands.add_parser(name)
        command.add_argument("--fetch", action="store_true", help="fetch the repository URL first")
        command.add_argument("--ref", help="tag or branch (default: the `ref` setting, else the latest tag)")
        command.add_argument("--commit", help="the commit the ref must be at")
    for name in ("migrate", "switch", "rollback", "rollback-switch", "rollback-database", "reload", "start-live"):
        commands.add_parser(name)
    commands.add_parser("receive").add_argument("bundle")
    app_exec = commands.add_parser("app-exec")
    app_exec.add_argument("--listen", metavar="HOST:PORT", help="as root: bind it first, as file descriptor 3")
    app_exec.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND")
    check = commands.add_parser("check")
    check.add_argument("--wait", type=int, help="seconds to wait for health (default: health_check_seconds)")
    check.add_argument("--live", action="store_true", help="the live color's own port, not through nginx")
    check.add_argument("--json", action="store_true")
    return main


def default_config():
    program = os.path.basename(sys.argv[0])
    if not program.endswith("-release"):
        sys.exit("--config is needed when this program is not called <app>-release")
    return f"/etc/{program[: -len('-release')]}/release.json"


def main(argv=None):
    args = parser().parse_args(argv)
    config = Config.load(args.config or default_config())
    paths = config.paths
    if args.command == "app-exec":  # the app user's: no state, lock or log of root's
        return app_env.exec_with(paths.env_file, args.argv, config.env_names, config.app_user, args.listen)
    runner = Runner(config.app_name, log_path=f"{paths.state_dir}/release.log")
    handle_signals()
    state = State(f"{paths.state_dir}/state.json")
    try:
        if args.command in READ_ONLY:
            return read_only(args, Steps(config, runner, state, args.by))
        ahead_seconds = config.git_timeout_seconds + config.build_timeout_seconds
        with Lock(f"{paths.state_dir}/lock", config.release_lock_seconds, args.command, ahead_seconds):
            state = State(state.path)  # as the last transaction left it
            if args.command == PREBUILD and state["journal"]:
                return 0  # an interrupted run is the release's to recover, where the operator sees it
            steps = Steps(config, runner, state, args.by)
            steps.recover()
            try:
                return run(args, steps)
            except Failed as error:
                if steps.attempt:
                    steps.record_failure(args.command, str(error))
                raise
    except Refused as error:
        runner.say(str(error))
        return 2
    except (Failed, LockTimeout) as error:
        runner.say(str(error))
        if args.command == "backup" and args.nightly:
            record_nightly(paths.nightly_record, str(error))
            alert(runner, config, "nightly-backup-failed", str(error))
        elif args.command in ("deploy", "switch", "migrate", "rollback", "rollback-switch", "reload"):
            alert(runner, config, f"{args.command}-failed", str(error))
        return 1
    except Interrupted as error:
        runner.say(f"stopped by {error}; a plain re-run finishes what this run left")
        return 1


def run(args, steps):
    command = args.command
    if command in ("deploy", "build", PREBUILD):
        target = steps.target(fetch=args.fetch, ref=args.ref, commit=args.commit)
        if steps.serves(target):
            steps.say(f"{steps.state.serving} serves already: nothing to update")
            return 0
        if command == PREBUILD:
            steps.builder.build(target)
            return 0
        release = steps.build(target)
        if command == "deploy":
            serving = steps.state.serving
            steps.say(f"release {serving} -> {release}" if serving else f"first release: {release}")
            steps.switch(undo=steps.migrate())
    elif command in ("migrate", "switch") and not steps.state["pending"]:
        steps.say(f"no release waits for its {command} here: nothing to do")
    elif command == "migrate":
        steps.migrate(phase=True)
    elif command == "switch":
        steps.switch()
    elif command in ("rollback", "rollback-switch"):
        steps.rollback(database=command == "rollback")
    elif command == "rollback-database":
        steps.rollback_database()
    elif command == "receive":
        steps.source.receive(args.bundle)
        os.unlink(args.bundle)
    elif command == "reload":
        steps.reload()
    elif command == "start-live":
        steps.switcher.start_live()
    elif command == "backup":
        steps.backups.take(nightly=args.nightly)
        if args.nightly:
            record_nightly(steps.paths.nightly_record)
    elif command == "restore":
        done = steps.backups.restore_snapshot(args.snapshot) if args.snapshot else steps.backups.restore(args.dump)
        steps.state.record_restore(*done, steps.by)
        steps.state.save()

    elif command == "maintenance":
        maintenance(steps, args.mode == "on")
    return 0


def maintenance(steps, on):
    changed = steps.maintenance(on)
    mode = "in maintenance (503)" if on else "live"
    steps.say(f"the site is {mode}" + ("" if changed else " already"))


def history_line(entry):
    seconds = (entry.get("seconds") or {}).get("total")
    took = f" in {seconds} s" if seconds is not None else ""
    what = {
        "deploy": "deployed",
        "rollback": "rolled back to",
        "restore": "restored the database from",
        "failed": f"FAILED {entry.get('command')} of",
    }
    line = f"{entry['at']} {entry['by']}: {what[entry['event']]} {entry['release']}{took}"
    if entry.get("commit"):
        line += f" (commit {entry['commit'][:12]})"
    if entry.get("rolled_back"):
        line += ", rolled back since"
    return line + (f": {entry['detail']}" if entry.get("detail") else "")


def read_only(args, steps):
    if args.command == "offsite-check":
        if not steps.offsite:
            raise Refused("this host copies nothing off-site (setting backup_repository).")
        try:
            said = steps.offsite.ready()
        except Failed as error:
            steps.backups.record.note("check", str(error))
            raise
        steps.backups.record.note("check", result=said)
        steps.say(said)
        return 0
    if args.command == "check":
        healthy, detail = steps.check(args.wait, live=args.live)
        if args.json:
            print(json.dumps({"healthy": healthy, "detail": detail}))
        else:
            steps.say(("healthy: " if healthy else "unhealthy: ") + detail)
        return 0 if healthy or args.json else 1
    if args.command == "report":
        found = report(steps)
        print(json.dumps(found, sort_keys=True) if args.json else "\n".join(found["problems"]) or "healthy")
        return 0 if found["healthy"] else 1
    if args.command == "backups":
        kept = steps.backups.listing()
        snapshots = steps.offsite.snapshots() if steps.offsite else []
        if args.json:
            print(json.dumps({"dumps": kept, "snapshots": snapshots}))
            return 0
        lines = [f"{dump['name']} {dump['size']} bytes" for dump in kept]
        lines += [
            f"off-site {found['short_id']} {found['time'][:19]} {found['hostname']} why={found['tags'].get('why')} "
            f"release={found['tags'].get('release')}"
            for found in snapshots
        ]
        print("\n".join(lines))
        return 0
    if args.command == "history":
        history = steps.state["history"]
        print(json.dumps(history) if args.json else "\n".join(history_line(entry) for entry in history))
        return 0
    status = steps.state.data
    previous = steps.state.previous()
    summary = {
        "serving": status["serving"],
        "release": steps.state.serving_release(),
        "previous": previous[1]["release"] if previous else None,
        "releases": status["releases"],
        "pending": status["pending"],
        "live": status["live"],
        "interrupted": (status["journal"] or {}).get("step"),
        "history": status["history"][-20:],
    }
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    else:
        print(
            f"serving: {summary['serving'] or 'nothing'}; previous: {summary['previous'] or 'none'}; "
            f"kept: {', '.join(sorted(summary['releases'])) or 'none'}"
        )
    return 0
