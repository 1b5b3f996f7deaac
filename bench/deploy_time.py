"""Deploy times, measured in one run on fresh servers of the project's own image, side by side:

  - our first deploy, where its time goes (a table of phases summing to the total), a second
    deploy with nothing new, an update to a new tag with the same requirements;
  - the raw floor: `apt-get install` + `pip install` of the same packages on another fresh server
    (without their recommends, as ours);
  - the article's steps as an Ansible playbook (bench/ansible/site.yml) on a third: first, second,
    update (it does less: no TLS, no firewall, no backup, no health check);
  - our first and second deploy of four hosts (web, two app, db);
  - a second app (testbed/hello_app) deployed beside the first on its server, then a second
    deploy of each (still the converged one: one app's deploy leaves the other's as it was).

Targets: first deploy at most 1.4x the raw floor and faster than Ansible's; second deploy at most
3.0 s, and at most 1.2x that on four hosts, and for each of two apps on one server.
Usage: python -m bench.deploy_time   (needs a Docker engine and mmdebstrap: `make docker`)
"""

import collections
import json
import os
import shlex
import tempfile
import time

from bench.ansible_run import Playbook
from core.plan.packages import packages_for
from core.settings.environment import TIMINGS_FILE
from testbed import repos
from testbed.servers import Cluster, Server

REQUIREMENTS = os.path.join(repos.SOURCE, "requirements.txt")
# what the local server gets: all roles, ufw, a self-signed certificate
LOCAL_SERVER_PACKAGES = packages_for({"web", "app", "db"}, firewall=True, tls="self-signed")


def deployed(server, *args, env=None):
    result = server.deploy(*args, env=env)
    assert result.returncode == 0, result.output[-3000:]
    return result.seconds


def phases(timings, history):
    """[(phase, seconds)] of a first deploy: its operations by task, the release program's steps,
    and what pyinfra itself took (connecting, facts, planning), summing to the total."""
    table = collections.OrderedDict()
    for operation in timings["operations"]:
        task = operation["name"].split(" | ")[0]
        table[task] = table.get(task, 0) + operation["seconds"]
    steps = (history[-1].get("seconds") or {}) if history else {}
    release = table.pop("Release", 0)
    for step in ("build", "migrate", "switch"):
        table[f"Release: {step}"] = steps.get(step, 0)
    table["Release: the rest"] = release - sum(steps.get(step, 0) for step in ("build", "migrate", "switch"))
    table["pyinfra: connecting, facts, planning"] = timings["total"] - sum(
        op["seconds"] for op in timings["operations"]
    )
    return list(table.items())


def built_ahead(status):
    """Seconds the serving release's code and venv took to build, in the background beside the tasks."""
    return status["releases"][status["serving"]]["build_seconds"]


def raw_floor(tmp):
    """(apt, pip) seconds of the same packages and requirements installed by hand on a fresh server."""
    raw = Server(tmp, repos.SOURCE)
    try:
        with open(REQUIREMENTS) as handle:
            raw.sh(f"printf %s {shlex.quote(handle.read())} > /tmp/requirements.txt")
        apt = timed(
            lambda: raw.sh(
                "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
                + " ".join(LOCAL_SERVER_PACKAGES)
            )
        )
        pip = timed(
            lambda: raw.sh("python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -q -r /tmp/requirements.txt")
        )
        return apt, pip
    finally:
        raw.remove()


def timed(function):
    start = time.time()
    function()
    return time.time() - start


def main():
    with tempfile.TemporaryDirectory() as tmp:
        repo = repos.build(os.path.join(tmp, "sample-app"))
        # the floor before and after ours, the faster taken: a package cache warmed by the first
        # install on the way must not flatter either side
        floors = [raw_floor(tmp)]
        ours = Server(tmp, repo.path)
        try:
            timings_file = os.path.join(tmp, "timings.json")
            first = deployed(ours, env={TIMINGS_FILE: timings_file})
            with open(timings_file) as handle:
                status = ours.release_status()
                table, ahead = phases(json.load(handle), status["history"]), built_ahead(status)
            second = deployed(ours)
            repo.release("v1.2.0")
            update = deployed(ours)
            _, second_app = repos.second_app(tmp)  # hello_app beside it, then a second deploy of each
            beside = deployed(ours, env=second_app)
            again = (deployed(ours), deployed(ours, env=second_app))
        finally:
            ours.remove()

        floors.append(raw_floor(tmp))
        theirs = Server(tmp, repo.path)
        try:
            playbook = Playbook(theirs, repo.path)
            ansible = [playbook.run(tag) for tag in ("v1.1.0", "v1.1.0", "v1.2.0")]
        finally:
            theirs.remove()

        cluster = Cluster(tmp, repo.path)
        try:
            spread = [timed(lambda: cluster.deploy()) for _ in range(2)]
        finally:
            cluster.remove()

    apt, pip = min(floors, key=sum)
    floor = apt + pip
    print("first deploy, where the time goes")
    for phase, seconds in table:
        print(f"  {phase:<44} {seconds:6.1f} s")
    print(f"  {'total':<44} {first:6.1f} s")
    print(f"  (and in the background, from 'Release built ahead' on: its code and venv, {ahead:.1f} s)")
    print()
    print(f"{'':<34} {'ours':>8} {'Ansible':>8} {'raw floor':>10}")
    print(
        f"{'first deploy':<34} {first:7.1f}s {ansible[0]:7.1f}s {floor:9.1f}s   "
        f"(apt {apt:.1f} s + pip {pip:.1f} s; "
        f"before ours {sum(floors[0]):.1f} s, after {sum(floors[1]):.1f} s)"
    )
    print(f"{'second deploy, nothing new':<34} {second:7.1f}s {ansible[1]:7.1f}s")
    print(f"{'update to a new tag':<34} {update:7.1f}s {ansible[2]:7.1f}s   (Ansible's restarts the app)")
    print(f"{'first / second deploy, 4 hosts':<34} {spread[0]:7.1f}s / {spread[1]:.1f}s")
    print(
        f"{'a second app beside it: first':<34} {beside:7.1f}s   "
        f"(then a second deploy of each: {again[0]:.1f} s, {again[1]:.1f} s)"
    )
    print()
    verdict = lambda met: "met" if met else "MISSED"  # noqa: E731
    print(
        f"first deploy {first / floor:.2f}x the raw floor (target <= 1.4x): {verdict(first <= 1.4 * floor)}; "
        f"{first / ansible[0]:.2f}x Ansible's (target < 1): {verdict(first < ansible[0])}"
    )
    print(
        f"second deploy {second:.1f} s (target <= 3.0 s): {verdict(second <= 3.0)}; "
        f"on 4 hosts {spread[1] / second:.2f}x (target <= 1.2x): {verdict(spread[1] <= 1.2 * second)}; "
        f"of each of two apps {max(again) / second:.2f}x (target <= 1.2x): {verdict(max(again) <= 1.2 * second)}"
    )


if __name__ == "__main__":
    main()
