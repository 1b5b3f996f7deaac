"""Wall time of a first deploy on a fresh server and of a second (no-change) deploy, against the
raw `apt-get install` + `pip install` of the same packages in another fresh server; then the
same two deploys of four fresh hosts (web, two app, db), which pyinfra deploys in parallel.

Targets: first deploy within 1.5x the raw install; second deploy under 10 s; four hosts well
under 4x one host.
Usage: python -m bench.deploy_time   (needs a Docker engine and mmdebstrap: `make docker`)
"""

import os
import shlex
import tempfile
import time

from core.packages import packages_for
from testbed import repos
from testbed.servers import Cluster, Server

REQUIREMENTS = os.path.join(repos.SOURCE, "requirements.txt")
# what the local server gets: all roles, ufw, a self-signed certificate
LOCAL_SERVER_PACKAGES = packages_for({"web", "app", "db"}, firewall=True, tls="self-signed")


def timed(function):
    start = time.time()
    result = function()
    return time.time() - start, result


def main():
    with tempfile.TemporaryDirectory() as tmp:
        repo = os.path.join(tmp, "sample-app")
        repos.build(repo)
        deployed, raw = Server(tmp, repo), Server(tmp, repo)
        try:
            first = deployed.deploy()
            assert first.returncode == 0, first.stderr[-2000:]
            second = deployed.deploy()
            assert second.returncode == 0, second.stderr[-2000:]

            with open(REQUIREMENTS) as handle:
                requirements = handle.read()
            raw.sh(f"printf %s {shlex.quote(requirements)} > /tmp/requirements.txt")
            apt_seconds, _ = timed(
                lambda: raw.sh(
                    "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                    + " ".join(LOCAL_SERVER_PACKAGES)
                )
            )
            pip_seconds, _ = timed(
                lambda: raw.sh("python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -q -r /tmp/requirements.txt")
            )
        finally:
            deployed.remove()
            raw.remove()

        cluster = Cluster(tmp, repo)
        try:
            spread_first = cluster.deploy()
            assert spread_first.returncode == 0, spread_first.stderr[-2000:]
            spread_second = cluster.deploy()
            assert spread_second.returncode == 0, spread_second.stderr[-2000:]
        finally:
            cluster.remove()

    raw_total = apt_seconds + pip_seconds
    ratio = first.seconds / raw_total
    print(f"raw apt-get install            {apt_seconds:6.1f} s")
    print(f"raw pip install                {pip_seconds:6.1f} s")
    print(f"raw total                      {raw_total:6.1f} s")
    print(
        f"first deploy (fresh server)    {first.seconds:6.1f} s   {ratio:.2f}x raw, "
        f"target <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'}"
    )
    print(
        f"second deploy (no change)      {second.seconds:6.1f} s   "
        f"target < 10 s: {'met' if second.seconds < 10 else 'MISSED'}"
    )
    spread_ratio = spread_first.seconds / first.seconds
    print(
        f"first deploy, 4 hosts          {spread_first.seconds:6.1f} s   {spread_ratio:.2f}x one host, "
        f"target well under 4x: {'met' if spread_ratio < 2 else 'MISSED'}"
    )
    print(f"second deploy, 4 hosts         {spread_second.seconds:6.1f} s")


if __name__ == "__main__":
    main()
