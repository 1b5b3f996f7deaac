"""The day-two tool without a server: how it reaches a host (ssh as the inventory says, sudo for a
user other than root) and how it prints a host's report."""

import shlex

from tools.day_two import Host, describe


def test_a_host_is_reached_as_the_inventory_says_and_through_sudo_for_another_user():
    data = {"ssh_hostname": "203.0.113.5", "ssh_port": 2200, "ssh_user": "admin", "_sudo": True, "ssh_key": "/k"}
    host = Host("blog", data, ["app"])
    argv = host.ssh(host.program("history", "--json"))
    assert (
        argv[:2] == ["ssh", "-o"] and "-T" in argv and argv[argv.index("-p") : argv.index("-p") + 2] == ["-p", "2200"]
    )
    assert argv[argv.index("-i") + 1] == "/k" and argv[-3:-1] == ["admin@203.0.113.5", "--"]
    remote = shlex.split(argv[-1])
    assert remote[:4] == ["sudo", "-n", "--", "sh"] and remote[5].startswith("/usr/local/sbin/microblog-release --by ")
    assert Host("db", {"ssh_hostname": "10.0.0.4"}, ["db"]).ssh("true")[-1] == "true"  # root: no sudo


def test_a_report_reads_as_one_block_per_host_problems_first():
    report = {
        "roles": ["app", "db", "web"],
        "healthy": False,
        "problems": ["gunicorn microblog-blue is STOPPED: no answer"],
        "release": {
            "serving": "v1.1.0",
            "commit": "c" * 40,
            "since": "2026-11-26T10:00:00Z",
            "by": "ann@laptop",
            "kept": ["v1.0.0", "v1.1.0"],
        },
        "database": {"reachable": True, "revision": "0001"},
        "gunicorn": {"live": "microblog-blue", "state": "STOPPED", "workers": 0},
        "health": {"healthy": False, "detail": "HTTP 502", "seconds": 0.01},
        "maintenance": False,
        "certificate": {"issuer": "CN = localhost", "days_left": 300, "expires": "2027-09-22"},
        "mariadb": "active",
        "backup": {"name": "000001-x-backup.sql.gz", "size": 900, "age_seconds": 7300},
        "disk": {"free_bytes": 10 * 2**30, "free_percent": 40.0},
        "firewall": "on",
    }
    lines = describe("local-server", report)
    assert lines[:2] == ["local-server [app, db, web]: UNHEALTHY", "  ! gunicorn microblog-blue is STOPPED: no answer"]
    text = "\n".join(lines)
    assert "release: v1.1.0 (commit cccccccccccc) since 2026-11-26T10:00:00Z by ann@laptop" in text
    assert "300 days left" in text and "2 h ago" in text and "10240 MiB free (40.0%); firewall on" in text
