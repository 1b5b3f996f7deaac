"""Requests through nginx during an update, the article's way and ours, on the same server.

(a) the article's procedure: stop gunicorn, pull the new tag, `flask db upgrade`, start;
(b) `make update`: the new release built beside the serving one, then a graceful reload.
Both update to a new tag with a migration and unchanged requirements, under 25 requests/s.
Prints failed requests, the longest gap without a successful response, and the update's wall time.
Targets: (b) has 0 failed requests and takes under 20 s.
Usage: python -m bench.update_downtime   (needs a Docker engine and mmdebstrap: `make docker`)
"""

import os
import tempfile
import time

from testbed import repos
from testbed.client import Load
from testbed.repos import new_table
from testbed.servers import Server

RATE = 25


def new_tag(repo, version, revision, down_revision):
    repo.release(version, files=[new_table(revision, down_revision, f"t{revision}")])


def measure(server, label, update):
    url = f"https://127.0.0.1:{server.https_port}/"
    with Load(url, rate=RATE) as load:
        time.sleep(2)  # steady state before the update
        start = time.time()
        update()
        seconds = time.time() - start
        time.sleep(2)
    print(f"{label:<44} {len(load.failures):>6} of {load.sent:<5} {load.longest_gap():>8.2f} s {seconds:>9.1f} s")
    return load, seconds


def main():
    with tempfile.TemporaryDirectory() as tmp:
        repo = repos.build(os.path.join(tmp, "sample-app"))
        server = Server(tmp, repo.path)
        try:
            first = server.deploy()
            assert first.returncode == 0, first.output[-3000:]
            title = f"update under {RATE} requests/s"
            print(f"{title:<44} {'failed':>15} {'longest gap':>10} {'wall time':>11}")

            def article():  # stop, then pull + upgrade and start (our update does both)
                server.sh(f"supervisorctl stop {server.live_program()}")
                result = server.deploy()  # finds gunicorn stopped: starts it once the release is in place
                assert result.returncode == 0, result.stderr[-2000:]

            def ours():
                result = server.deploy()
                assert result.returncode == 0, result.stderr[-2000:]

            new_tag(repo, "v1.2.0", "0002", "0001")
            measure(server, "(a) article: stop, pull, upgrade, start", article)
            new_tag(repo, "v1.3.0", "0003", "0002")
            load, seconds = measure(server, "(b) make update", ours)
            print(
                f"targets for (b): 0 failed requests: {'met' if not load.failures else 'MISSED'}; "
                f"under 20 s: {'met' if seconds < 20 else 'MISSED'}"
            )
        finally:
            server.remove()


if __name__ == "__main__":
    main()
