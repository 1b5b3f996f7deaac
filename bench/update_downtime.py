"""Requests through nginx during an update, the article's way and ours, on the same server.

(a) the article's procedure: stop gunicorn, pull the new tag, `flask db upgrade`, start;
(b) `make update`: the new release started in the idle color beside the live one, then nginx
    switched to it and the old one drained and stopped (blue-green).
Both update to a new tag with a migration and unchanged requirements, under 25 requests/s. Prints
the failed requests, the longest time without an answer, the response times before and during
the update (p50, p99, and the longest wait above the usual p50), the update's wall time, and the
peak memory of the app's processes during (b) against their steady state.
Targets for (b): 0 failed requests, no request waiting more than 0.5 s above the usual, at most
10 s of wall time, memory under 2x the steady state.
Usage: python -m bench.update_downtime   (needs a Docker engine and mmdebstrap: `make docker`)
"""

import os
import shlex
import tempfile
import time

from testbed import repos
from testbed.client import Load
from testbed.repos import new_table
from testbed.servers import Server

RATE = 25
STEADY = 3  # seconds of load before the update, for the usual response times and memory
# the resident memory of the app's processes (both colors), every 0.2 s
RSS_SAMPLER = (
    "while :; do ps -eo rss=,args= | awk '/[g]unicorn/ { s += $1 } END { print s }' >> /root/rss; sleep 0.2; done"
)


def new_tag(repo, version, revision, down_revision):
    repo.release(version, files=[new_table(revision, down_revision, f"t{revision}")])


def measure(server, label, update):
    server.sh(f"rm -f /root/rss; systemd-run --unit rss-sampler sh -c {shlex.quote(RSS_SAMPLER)}")
    with Load(f"https://127.0.0.1:{server.https_port}/", rate=RATE) as load:
        time.sleep(STEADY)
        start = time.time()
        update()
        end = time.time()
        time.sleep(2)
    server.sh("systemctl stop rss-sampler")
    samples = [int(line) for line in server.sh("cat /root/rss").split() if line.isdigit()]
    steady_rss = max(samples[: int(STEADY / 0.2)] or [0])
    usual = load.latency(50, end=start)
    worst = max((taken for sent, taken in load.latencies if start <= sent < end), default=float("nan"))
    print(f"{label}")
    print(
        f"  failed {len(load.failures)} of {load.sent}, longest gap without an answer {load.longest_gap():.2f} s, "
        f"wall time {end - start:.1f} s"
    )
    print(
        f"  response times before: p50 {usual * 1000:.0f} ms, p99 {load.latency(99, end=start) * 1000:.0f} ms; "
        f"during: p50 {load.latency(50, start, end) * 1000:.0f} ms, p99 {load.latency(99, start, end) * 1000:.0f} ms"
        f"; longest wait above the usual {max(0.0, worst - usual):.2f} s"
    )
    print(
        f"  app memory: steady {steady_rss / 1024:.0f} MB, peak {max(samples, default=0) / 1024:.0f} MB "
        f"({max(samples, default=0) / max(steady_rss, 1):.3f}x)"
    )
    return load, end - start, worst - usual, max(samples, default=0) / max(steady_rss, 1)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        repo = repos.build(os.path.join(tmp, "sample-app"))
        server = Server(tmp, repo.path)
        try:
            first = server.deploy()
            assert first.returncode == 0, first.output[-3000:]
            print(f"updates under {RATE} requests/s, through nginx")

            def article():  # stop, then pull + upgrade and start (our update does both)
                server.sh(f"supervisorctl stop {server.live_program()}")
                result = server.deploy()  # finds gunicorn stopped: starts it once the release is in place
                assert result.returncode == 0, result.output[-2000:]

            def ours():
                result = server.deploy()
                assert result.returncode == 0, result.output[-2000:]

            new_tag(repo, "v1.2.0", "0002", "0001")
            measure(server, "(a) article: stop, pull, upgrade, start", article)
            new_tag(repo, "v1.3.0", "0003", "0002")
            load, seconds, wait, memory = measure(server, "(b) make update (blue-green)", ours)
            met = lambda ok: "met" if ok else "MISSED"  # noqa: E731
            print(
                f"targets for (b): 0 failed: {met(not load.failures)}; no wait over 0.5 s above the usual: "
                f"{met(wait <= 0.5)}; at most 10 s: {met(seconds <= 10)}; memory under 2x: {met(memory < 2)}"
            )
        finally:
            server.remove()


if __name__ == "__main__":
    main()
