import hashlib
import io

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import Sha1File
from pyinfra.facts.server import Command
from pyinfra.operations import files, mysql, systemd

from tasks.common import app_secrets, mysql_user_only_at, render_template, set_mysql_password, settings
from tasks.layout import host_named, layout

CONFIG = "/etc/mysql/mariadb.conf.d/90-flask-deploy.cnf"


def mariadb_config(db_host):
    """The db host's MariaDB config: on loopback, or on its private address when other hosts run the app."""
    return render_template("mariadb.cnf.j2", settings(db_host), db_host.data, bind_address=layout().db_address)


def database_will_restart():
    """Whether this deploy (re)starts MariaDB on the db host, which drops the app's pooled
    connections: asked by the app hosts too, so that they reload."""
    db_host = host_named(layout().db)
    running = db_host.get_fact(Command, "systemctl is-active mariadb 2>/dev/null || true") == "active"
    wanted = hashlib.sha1(mariadb_config(db_host).encode()).hexdigest()
    return not running or db_host.get_fact(Sha1File, path=CONFIG) != wanted


@deploy("MariaDB")
def database():
    """Ensures MariaDB runs on the db host's loopback address, or its private one when other hosts
    run the app, with the app's database (utf8, utf8_bin) and a user with every right on that
    database and none elsewhere, granted from the app hosts alone (localhost, or each app host's
    private address); no anonymous users, no `test` database, root only through the unix socket
    (Debian's default, kept)."""
    s = settings()
    _, password, password_changed = app_secrets()
    config = files.put(name=f"MariaDB listens on {layout().db_address} only", src=io.StringIO(mariadb_config(host)),
                       dest=CONFIG, mode="0644")
    systemd.service(name="MariaDB is running and enabled", service="mariadb", running=True, enabled=True)
    systemd.service(name="Restart MariaDB for its new config", service="mariadb", restarted=True,
                    _if=config.did_change)
    mysql.database(name=f"Database {s.db_name}", database=s.db_name, charset="utf8", collate="utf8_bin")
    for client in layout().db_clients:
        mysql.user(name=f"Database user {s.db_user}@{client}", user=s.db_user, user_hostname=client,
                   password=password)
        if password_changed:
            set_mysql_password(name=f"New password for {s.db_user}@{client}", user=s.db_user,
                               hostname=client, password=password)
        mysql.privileges(name=f"{s.db_user}@{client} has every right on {s.db_name} alone", user=s.db_user,
                         user_hostname=client, privileges=["ALL"], database=s.db_name)
    mysql_user_only_at(name=f"{s.db_user} granted from the app hosts alone", user=s.db_user,
                       hosts=list(layout().db_clients))
    mysql.database(name="No test database", database="test", present=False)
    mysql_user_only_at(name="No anonymous MariaDB users", user="", hosts=[])
