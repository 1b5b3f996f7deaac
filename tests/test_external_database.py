"""Bring your own database: the app server uses a MariaDB server the deploy does not manage (a
managed database, here a second container on a network of the test's own), named by `db_host`,
with the password from the environment. No MariaDB server is installed on the app server; the
migrations, the pages, status, backups and restore all reach the external one."""

import re
import secrets

import pytest

from testbed import local_server
from testbed.client import http_get
from testbed.servers import Server

pytestmark = pytest.mark.e2e

PASSWORD = secrets.token_urlsafe(24)
SETTINGS = ("--data", "db_name=blog", "--data", "db_user=blogger")


@pytest.fixture(scope="module")
def network(engine):
    created = local_server.client().networks.create(f"flask-deploy-test-{secrets.token_hex(3)}")
    yield created
    created.remove()


@pytest.fixture(scope="module")
def external_db(engine, state_dir, sample_repository, network):
    """A MariaDB server of its own, as a provider hands one out: a database and a user for the app,
    reachable over the network."""
    instance = Server(state_dir, sample_repository, network=network.name, web=False)
    instance.sh(
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
        "mariadb-server >/dev/null"
    )
    instance.sh("printf '[mysqld]\\nbind-address = 0.0.0.0\\n' > /etc/mysql/mariadb.conf.d/99-external.cnf")
    instance.sh("systemctl restart mariadb")
    instance.sh(
        'mysql -e "CREATE DATABASE blog CHARACTER SET utf8 COLLATE utf8_bin; '
        f"CREATE USER 'blogger'@'%' IDENTIFIED BY '{PASSWORD}'; GRANT ALL ON blog.* TO 'blogger'@'%'\""
    )
    yield instance
    instance.remove()


@pytest.fixture(scope="module")
def app_server(engine, state_dir, sample_repository, network, external_db):
    instance = Server(state_dir, sample_repository, network=network.name)
    yield instance
    instance.remove()


def deploy(server, external_db, network):
    db_host = ("--data", f"db_host={external_db.address(network.name)}")
    return server.deploy(*SETTINGS, *db_host, env={"DB_PASSWORD": PASSWORD})


def test_the_app_runs_on_the_external_database_and_no_mariadb_server_is_installed(app_server, external_db, network):
    refused = app_server.deploy(*SETTINGS, "--data", "db_host=192.0.2.1")  # no DB_PASSWORD given
    assert refused.returncode != 0 and "set DB_PASSWORD" in refused.output
    assert app_server.sh("test -e /etc/nginx && echo changed || echo untouched") == "untouched"

    result = deploy(app_server, external_db, network)
    assert result.returncode == 0, result.output[-5000:]
    assert {"alembic_version", "post"} <= set(external_db.sh("mysql -N -e 'SHOW TABLES' blog").split())
    external_db.sh("mysql -e \"INSERT INTO post (body) VALUES ('on the external database')\" blog")
    status, _, body = http_get(app_server.https_url + "/")
    assert status == 200 and re.search(r"<p>1 posts</p>", body), body
    assert app_server.sh("dpkg-query -W -f='${Status}' mariadb-server 2>&1 || true") != "install ok installed"
    assert ":3306" not in app_server.sh("ss -Hltn")

    again = deploy(app_server, external_db, network)
    assert again.returncode == 0 and "nothing changed since the last deploy" in again.output, again.output[-3000:]


def test_status_backup_and_restore_reach_the_external_database(app_server, external_db):
    status = app_server.make("status")
    assert status.returncode == 0, status.output
    assert "migration revision: 0001" in status.stdout and "MariaDB:" not in status.stdout
    backup = app_server.make("backup")
    assert backup.returncode == 0, backup.output
    external_db.sh("mysql -e 'DELETE FROM post' blog")
    restore = app_server.make("restore")
    assert restore.returncode == 0, restore.output
    assert external_db.sh("mysql -N -e 'SELECT body FROM post' blog") == "on the external database"
