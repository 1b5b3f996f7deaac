"""Several servers: one web host, two app hosts and one db host on a Docker network of the tests'
own, deployed to as one layout (DEPLOY_WEB_HOSTS, DEPLOY_APP_HOSTS, DEPLOY_DB_HOST)."""

import json
import re

import pytest

from testbed.client import Load, http_get
from testbed.repos import breaking_column, new_table
from testbed.servers import APP_DIR, Cluster, changed_operations

pytestmark = pytest.mark.e2e

BACKUPS = "/var/backups/microblog"


@pytest.fixture(scope="module")
def cluster(engine, state_dir, repo):
    instance = Cluster(state_dir, repo.path)
    yield instance
    instance.remove()


@pytest.fixture(scope="module")
def first_deploy(cluster):
    result = cluster.deploy()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    print(f"first deploy of web + 2 app + db hosts: {result.seconds:.1f}s")
    return result


def answers(cluster, count=20):
    """(status, app host that answered, page title) of `count` requests through the web host."""
    results = []
    for _ in range(count):
        status, headers, body = http_get(cluster.url + "/")
        title = re.search(r"<h1>(.*?)</h1>", body)
        # $upstream_addr lists every app host tried, the one that answered last
        answered = (headers.get("X-Upstream") or "").split(", ")[-1]
        results.append((status, answered, title.group(1) if title else None))
    return results


def app_addresses(cluster):
    return {f"{cluster.address(app)}:{app.live_port()}" for app in cluster.apps}


def probe(source, address, port):
    """What a TCP client on `source` first reads from address:port (MariaDB speaks first), or the
    error of its connection, within 3 s."""
    return source.sh(
        "python3 -c 'import socket, sys; print(socket.create_connection((sys.argv[1], int(sys.argv[2])), "
        f"timeout=3).recv(300))' {address} {port} 2>&1 | tail -n 1",
        check=False,
    )


def test_requests_through_the_web_host_reach_both_app_hosts(cluster, first_deploy):
    results = answers(cluster)
    assert {status for status, _, _ in results} == {200}
    assert {upstream for _, upstream, _ in results} == app_addresses(cluster)
    assert {title for _, _, title in results} == {"Microblog v1.1.0"}
    # /static comes from the app hosts, with nginx's 30-day expiry
    status, headers, _ = http_get(cluster.url + "/static/style.css")
    assert status == 200 and headers["Cache-Control"] == "max-age=2592000"
    assert {"post", "alembic_version"} <= set(cluster.db.sh("mysql -N -e 'SHOW TABLES' microblog").split())
    # each role on its own host: no app on the web and db hosts, no MariaDB on the app hosts
    for server in (cluster.web, cluster.db):
        assert server.sh(f"test -e {APP_DIR} && echo app || echo none") == "none"
    for app in cluster.apps:
        assert app.sh("test -e /usr/sbin/mariadbd && echo db || echo none") == "none"
        assert app.sh(f"readlink {APP_DIR}/current") == "releases/v1.1.0"


def test_gunicorn_and_mariadb_listen_on_private_addresses_for_their_clients_only(cluster, first_deploy):
    db_address = cluster.address(cluster.db)
    for app in cluster.apps:
        address, port = cluster.address(app), app.live_port()
        assert f"{address}:{port}" in app.sh(f"ss -ltnH 'sport = :{port}'")
        # the web host reaches gunicorn; the db host does not
        assert (
            cluster.web.sh(f"curl -s -o /dev/null -w '%{{http_code}}' -H 'Host: localhost' http://{address}:{port}/")
            == "200"
        )
        assert (
            cluster.db.sh(f"curl -s -m 3 -o /dev/null -w '%{{http_code}}' http://{address}:{port}/", check=False)
            == "000"
        )
        # MariaDB greets the app hosts
        assert "MariaDB" in probe(app, db_address, 3306)
    assert f"{db_address}:3306" in cluster.db.sh("ss -ltnH 'sport = :3306'")
    grants = set(cluster.db.sh("mysql -N -e \"SELECT Host FROM mysql.user WHERE User = 'microblog'\"").split())
    assert grants == {cluster.address(app) for app in cluster.apps}

    # The web host is stopped by the db host's firewall; let it through, and MariaDB itself refuses it.
    web_address = cluster.address(cluster.web)
    assert "TimeoutError" in probe(cluster.web, db_address, 3306)
    rule = f"from {web_address} to any port 3306 proto tcp"
    cluster.db.sh(f"ufw insert 1 allow {rule}")
    try:
        assert f"Host '{web_address}' is not allowed to connect to this MariaDB server" in probe(
            cluster.web, db_address, 3306
        )
    finally:
        cluster.db.sh(f"ufw delete allow {rule}")


def test_a_stopped_app_host_is_skipped_and_every_request_answers(cluster, first_deploy):
    stopped = cluster.apps[0]
    program, stopped_upstream = stopped.live_program(), f"{cluster.address(stopped)}:{stopped.live_port()}"
    stopped.sh(f"supervisorctl stop {program}")
    try:
        results = answers(cluster, count=30)
        assert {status for status, _, _ in results} == {200}
        assert {upstream for _, upstream, _ in results} == app_addresses(cluster) - {stopped_upstream}
    finally:
        stopped.sh(f"supervisorctl start {program}")


def test_rolling_update_under_load_fails_no_request_and_migrates_once(cluster, repo, first_deploy):
    repo.release(
        "v1.2.0",
        files=[new_table("0002", "0001", "comment", insert=True)],
    )
    with Load(cluster.url + "/", rate=20) as load:
        result = cluster.deploy()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    print(f"rolling update v1.1.0 -> v1.2.0 over 2 app hosts in {result.seconds:.1f}s: {load.summary()}")
    assert load.sent >= 20 * result.seconds * 0.9
    assert load.failures == [], load.failures[:5]
    assert cluster.db.sh("mysql -N -e 'SELECT COUNT(*) FROM comment' microblog") == "1"
    assert cluster.db.sh("mysql -N -e 'SELECT version_num FROM alembic_version' microblog") == "0002"
    # the migration (and its backup) happened on the first app host alone
    assert cluster.apps[0].sh(f"ls {BACKUPS} | wc -l") == "1" and cluster.apps[1].sh(f"ls {BACKUPS} | wc -l") == "0"
    output = result.stdout + result.stderr
    assert output.index("Migrate the database once") < output.index("Take ")
    results = answers(cluster)
    assert {title for _, _, title in results} == {"Microblog v1.2.0"}
    assert {upstream for _, upstream, _ in results} == app_addresses(cluster)


def test_a_second_deploy_changes_nothing(cluster, first_deploy):
    again = cluster.deploy("--json")
    assert again.returncode == 0, again.stderr[-3000:]
    assert changed_operations(again) == []
    dry = cluster.deploy("--dry")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert [app.sh(f"readlink {APP_DIR}/current") for app in cluster.apps] == ["releases/v1.2.0"] * 2


def test_rollback_goes_back_host_by_host_then_undoes_the_migration(cluster, first_deploy):
    with Load(cluster.url + "/", rate=20) as load:
        result = cluster.deploy(deploy_file="rollback.py")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    print(f"rollback v1.2.0 -> v1.1.0 over 2 app hosts in {result.seconds:.1f}s: {load.summary()}")
    assert load.failures == [], load.failures[:5]
    output = result.stdout + result.stderr
    assert output.index("Roll back") < output.index("Undo the newer release's migrations")
    assert {title for _, _, title in answers(cluster)} == {"Microblog v1.1.0"}
    assert cluster.db.sh("mysql -N -e 'SELECT version_num FROM alembic_version' microblog") == "0001"
    assert "comment" not in cluster.db.sh("mysql -N -e 'SHOW TABLES' microblog").split()


def test_status_history_and_logs_cover_every_host_of_the_layout(cluster, first_deploy):
    result = cluster.make("status", JSON=1)
    assert result.returncode == 0, result.output
    found = json.loads(result.stdout)
    names = {server: f"127.0.0.1:{server.ssh_port}" for server in cluster.servers.values()}
    assert {name: report["roles"] for name, report in found.items()} == {
        names[cluster.web]: ["web"],
        **{names[app]: ["app"] for app in cluster.apps},
        names[cluster.db]: ["db"],
    }
    assert all(report["healthy"] for report in found.values())
    assert found[names[cluster.web]]["health"]["detail"] == "HTTP 200"
    assert found[names[cluster.web]]["certificate"]["days_left"] > 300
    assert found[names[cluster.db]]["mariadb"] == "active"
    assert {found[names[app]]["release"]["tag"] for app in cluster.apps} == {"v1.1.0"}
    assert all(found[names[app]]["gunicorn"]["workers"] >= 2 for app in cluster.apps)

    history = cluster.make("history")
    assert history.returncode == 0, history.output
    for app in cluster.apps:
        lines = [line for line in history.stdout.splitlines() if line.startswith(f"[{names[app]}] ")]
        assert any("deployed v1.2.0" in line and "@" in line and " s (commit" in line for line in lines), lines
        assert any("rolled back to v1.1.0" in line for line in lines), lines

    http_get(cluster.url + "/four-host-logged-request")
    logs = cluster.make("logs", LINES=30)
    assert logs.returncode == 0, logs.output
    logged = [line.split("] ")[0] + "]" for line in logs.stdout.splitlines() if "/four-host-logged-request" in line]
    assert f"[{names[cluster.web]}]" in logged  # nginx's log on the web host
    assert {f"[{names[app]}]" for app in cluster.apps} & set(logged)  # gunicorn's on the app host that answered

    app = cluster.apps[0]
    app.sh(f"supervisorctl stop {app.live_program()}")
    try:
        stopped = cluster.make("status")
        assert stopped.returncode != 0 and f"{names[app]} [app]: UNHEALTHY" in stopped.stdout
    finally:
        app.sh(f"supervisorctl start {app.live_program()}")


def test_web_hosts_go_into_maintenance_around_a_migration_not_backward_compatible(cluster, repo, first_deploy):
    repo.release("v1.3.0", files=[breaking_column("0003", "0002")])
    with Load(cluster.url + "/", rate=20) as load:
        result = cluster.deploy("--json")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    changed = changed_operations(result)
    maintenance = [name.split(" | ")[-1].split(" on ")[0] for name in changed if "not backward compatible" in name]
    assert maintenance == ["Site in maintenance", "Site live again"], changed
    print(f"rolling update to a breaking migration under load: {load.summary()}")
    assert load.failures and {status for _, status in load.failures} == {503}, load.failures[:5]
    assert {title for _, _, title in answers(cluster)} == {"Microblog v1.3.0"}
