"""The day-two tool without a server: how it reaches a host (ssh as the inventory says, sudo for a
user other than root) and how it prints a host's report."""

import pathlib
import shlex

from core.settings import environment
from core.settings.names import declared
from tools import day_two
from tools.day_two import Host, describe


def test_a_host_is_reached_as_the_inventory_says_and_through_sudo_for_another_user():
    data = {"ssh_hostname": "203.0.113.5", "ssh_port": 2200, "ssh_user": "admin", "_sudo": True, "ssh_key": "/k"}
    host = Host("blog", {**declared(), **data}, ["app"])
    argv = host.ssh(host.program("history", "--json"))
    assert (
        argv[:2] == ["ssh", "-o"] and "-T" in argv and argv[argv.index("-p") : argv.index("-p") + 2] == ["-p", "2200"]
    )
    assert argv[argv.index("-i") + 1] == "/k" and argv[-3:-1] == ["admin@203.0.113.5", "--"]
    remote = shlex.split(argv[-1])
    assert remote[:4] == ["sudo", "-n", "--", "sh"] and remote[5].startswith("/usr/local/sbin/microblog-release --by ")
    assert Host("db", {**declared(), "ssh_hostname": "10.0.0.4"}, ["db"]).ssh("true")[-1] == "true"  # root: no sudo


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


def test_each_host_has_the_roles_and_settings_pyinfra_gives_it(tmp_path, monkeypatch):
    """group_data/<role>.py over group_data/all.py, the DEPLOY_SETTINGS file over both, as a deploy sees them."""
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "all.py").write_text("from core.settings.defaults import *\nworkers = 3\nrepo = 'all'\n")
    (tmp_path / "group_data" / "app.py").write_text("workers = 5\n")
    (tmp_path / "blog.py").write_text("repo = 'https://example.org/blog.git'\n")
    (tmp_path / "inventory.py").write_text(pathlib.Path(day_two.ROOT, "inventory.py").read_text())
    monkeypatch.setattr(day_two, "ROOT", str(tmp_path))
    for name in environment.HOST_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(environment.WEB_HOSTS, "10.0.0.1")
    monkeypatch.setenv(environment.APP_HOSTS, "10.0.0.2")
    monkeypatch.setenv(environment.DB_HOST, "10.0.0.2")
    monkeypatch.setenv(environment.SETTINGS_FILE, str(tmp_path / "blog.py"))
    found = {host.name: host for host in day_two.hosts()}
    assert {name: host.roles for name, host in found.items()} == {"10.0.0.1": ["web"], "10.0.0.2": ["app", "db"]}
    assert (found["10.0.0.1"].data["workers"], found["10.0.0.2"].data["workers"]) == (3, 5)
    assert {host.data["repo"] for host in found.values()} == {"https://example.org/blog.git"}
    assert found["10.0.0.2"].data["health_check_path"] == declared()["health_check_path"]


def test_the_local_server_takes_the_operators_settings_file_of_a_second_app(tmp_path):
    from testbed import local_server

    given = tmp_path / "shop.py"
    given.write_text('app_name = "shop"\ndomain = "shop.localhost"\npublic_https_port = 1\n')
    variables = local_server.handover(
        str(tmp_path), ssh_port=2222, https_port=8443, repo="/r", settings={}, given=str(given)
    )
    chosen = environment.settings_file(variables[environment.SETTINGS_FILE])
    # its names, not the local server's default ones; the local server's port, whatever the file says
    assert (chosen["app_name"], chosen["server_names"], chosen["public_https_port"]) == (
        "shop",
        ["shop.localhost"],
        8443,
    )
    assert local_server.handover(str(tmp_path), ssh_port=2222, https_port=8443, repo="/r", settings={}) == variables
    assert environment.settings_file(variables[environment.SETTINGS_FILE])["server_names"] == ["localhost", "127.0.0.1"]
