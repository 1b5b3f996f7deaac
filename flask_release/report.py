"""`<app>-release report`: how this host does, by its roles, for `make status`. Every part it
reads is the host's own (supervisor, nginx, the certificate, MariaDB, ufw); anything that should
wake an operator is listed in `problems`, which makes the report unhealthy."""

import os
import shutil
import subprocess
import time
from datetime import UTC, datetime

from .backups import last_nightly
from .offsite import Record
from .run import Failed
from .service import supervisor

CERTIFICATE_DAYS = 14  # fewer days left than this is a problem (certbot renews at 30)
OFFSITE_HOURS = 26  # a day and a bit: the nightly copy and drill are late past this
DISK_FREE_PERCENT = 10  # less free space on / than this is a problem


def _output(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False).stdout.strip()
    except OSError:
        return ""


def _timed(check):
    started = time.monotonic()
    healthy, detail = check()
    return {"healthy": healthy, "detail": detail, "seconds": round(time.monotonic() - started, 3)}


def report(steps):
    config, roles, state, problems = steps.config, steps.config.roles, steps.state, []
    found = {"roles": list(roles), "problems": problems}
    if "app" in roles:
        found["release"] = _release(state)
        found["gunicorn"] = _gunicorn(steps, problems)
        try:
            found["database"] = {"reachable": True, "revision": steps.database.revision()}
        except Failed as error:
            found["database"] = {"reachable": False, "detail": str(error)}
            problems.append(f"the app's database does not answer ({error})")
        kept = steps.backups.listing()
        found["backup"] = kept[-1] if kept else None
        found["nightly"] = last_nightly(steps.paths.nightly_record)
        if found["nightly"] and not found["nightly"]["ok"]:
            problems.append(
                f"the nightly backup of {found['nightly']['at']} failed ({found['nightly']['detail']}); the next "
                f"one that passes clears this (systemctl start {config.app_name}-backup.service runs one now)"
            )
        if config.offsite:
            found["offsite"] = _offsite(config, problems)
    if "web" in roles:
        found["health"] = _timed(lambda: steps.service.health(0))
        if not found["health"]["healthy"]:
            problems.append(f"the site does not pass its health check: {found['health']['detail']}")
        found["maintenance"] = bool(config.maintenance_link) and os.path.islink(config.maintenance_link)
        if config.certificate:
            found["certificate"] = _certificate(config.certificate, problems)
    if "db" in roles:
        found["mariadb"] = _output(["systemctl", "is-active", "mariadb"]) or "unknown"
        if found["mariadb"] != "active":
            problems.append(f"MariaDB is {found['mariadb']}")
    disk = shutil.disk_usage("/")
    found["disk"] = {"free_bytes": disk.free, "free_percent": round(100 * disk.free / disk.total, 1)}
    if found["disk"]["free_percent"] < DISK_FREE_PERCENT:
        problems.append(f"only {found['disk']['free_percent']}% of the disk is free")
    found["firewall"] = "on" if "Status: active" in _output(["ufw", "status"]) else "off"
    found["healthy"] = not problems
    return found


def _release(state):
    serving = state.serving
    served = [entry for entry in state["history"] if entry["event"] in ("deploy", "rollback")]
    last = served[-1] if served else {}
    info = state["releases"].get(serving, {})
    return {
        "serving": serving,
        "tag": info.get("name"),
        "commit": info.get("commit"),
        "since": last.get("at"),
        "by": last.get("by"),
        "kept": sorted(state["releases"]),
    }


def _gunicorn(steps, problems):
    live = steps.switcher.live
    if not live:
        problems.append("no release serves")
        return {"live": None}
    service = steps.service
    found = {"live": service.program(live), "state": service.state(live), "workers": 0}
    if found["state"] == "RUNNING":
        pid = supervisor().supervisor.getProcessInfo(service.program(live))["pid"]
        found["workers"] = len(_output(["pgrep", "-P", str(pid)]).split())
    answers, detail = steps.check(0, live=True)
    found["answers"] = answers
    if found["state"] != "RUNNING" or not answers:
        problems.append(f"gunicorn {found['live']} is {found['state'] or 'unknown to supervisor'}: {detail}")
    return found


def _offsite(config, problems):
    """The last off-site copy, restore drill and retention, with their ages: a problem when the copy
    or the drill failed, or none passed for over OFFSITE_HOURS."""
    record = Record(config.paths.offsite_record).data
    found = {}
    for kind in ("copy", "drill", "retention"):
        last = record.get(kind)
        found[kind] = last and {**last, "age_seconds": _seconds_since(last["at"])}
    for kind in ("copy", "drill") if config.drill else ("copy",):
        if found[kind] and not found[kind]["ok"]:
            problems.append(f"the last off-site {kind} ({found[kind]['at']}) failed: {found[kind]['detail']}")
            continue
        since = record.get(f"{kind}_ok_at") or record["since"]
        if _seconds_since(since) > OFFSITE_HOURS * 3600:
            problems.append(f"no off-site {kind} has passed since {since} (over {OFFSITE_HOURS} h)")
    return found


def _seconds_since(stamp):
    """The seconds since `stamp`, a time of state.now()."""
    then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return int((datetime.now(UTC) - then).total_seconds())


def _certificate(path, problems):
    text = _output(["openssl", "x509", "-in", path, "-noout", "-enddate", "-issuer"])
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    if "notAfter" not in fields:
        problems.append(f"no certificate can be read at {path}")
        return None
    expires = datetime.strptime(fields["notAfter"], "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC)
    days = (expires - datetime.now(UTC)).days
    if days < CERTIFICATE_DAYS:
        problems.append(f"the certificate expires in {days} days ({expires:%Y-%m-%d})")
    return {"issuer": fields.get("issuer", "").strip(), "expires": f"{expires:%Y-%m-%d}", "days_left": days}
