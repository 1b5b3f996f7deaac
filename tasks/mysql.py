import shlex

from pyinfra.api import deploy
from pyinfra.operations import files, mysql, systemd

from core.glue.render import render
from core.plan.managed import Managed
from core.settings.resolved import settings
from core.settings.secrets import app_secrets
from operations.mariadb import account, grant_pattern, no_other_databases

CONFIG = "/etc/mysql/mariadb.conf.d/90-flask-deploy.cnf"


@deploy("MariaDB")
def database():
    """Ensures MariaDB runs on the db host's loopback address, or its private one when other hosts
    run the app, with a lock-wait limit; the app's database (utf8, utf8_bin) and a user with every
    right on that database and none elsewhere, granted from the app hosts alone (localhost, or each
    app host's private address), its password set from MariaDB's hash of it on standard input; no
    anonymous users, no `test` database, root only through the unix socket (Debian's default). With
    off-site backups, the restore drill's scratch database and a user with rights on it alone.
    Returns an _if condition true once this deploy (re)started MariaDB: gunicorn's pooled
    connections are gone then."""
    s = settings()
    config = files.put(
        name=f"MariaDB listens on {s.db_address} only", src=render("mariadb.cnf.j2", s), dest=CONFIG, mode="0644"
    )
    started = systemd.service(name="MariaDB is running and enabled", service="mariadb", running=True, enabled=True)
    restart = systemd.service(
        name="Restart MariaDB for its new config", service="mariadb", restarted=True, _if=config.did_change
    )
    mysql.database(name=f"Database {s.db_name}", database=s.db_name, charset="utf8", collate="utf8_bin")
    clients = list(s.roles.db_clients)
    account(
        name=f"Database user {s.db_user} at {', '.join(clients)} alone, with its password",
        user=s.db_user,
        hosts=clients,
        password_hash=app_secrets().db_password_hash,
    )
    for client in clients:
        mysql.privileges(
            name=f"{s.db_user}@{client} has every right on {s.db_name} alone",
            user=s.db_user,
            user_hostname=client,
            privileges=["ALL"],
            database=grant_pattern(s.db_name),  # `shop_1`.* would grant shop21 too
        )
    no_other_databases(
        name=f"{s.db_user} has rights on no other database", user=s.db_user, hosts=clients, database=s.db_name
    )
    drill_db, drill_user = s.drill_names  # the restore drill's scratch database, its user alone in it
    mysql.database(
        name=f"Database {drill_db} (restore drills)" if s.drill else f"No database {drill_db}",
        database=drill_db,
        charset="utf8",
        collate="utf8_bin",
        present=s.drill,
    )
    account(
        name=f"Database user {drill_user}" if s.drill else f"No database user {drill_user}",
        user=drill_user,
        hosts=clients if s.drill else [],
        password_hash=app_secrets().drill_password_hash,
    )
    for client in clients if s.drill else ():
        mysql.privileges(
            name=f"{drill_user}@{client} has every right on {drill_db} alone",
            user=drill_user,
            user_hostname=client,
            privileges=["ALL"],
            database=grant_pattern(drill_db),
        )
    mysql.database(name="No test database", database="test", present=False)
    account(name="No anonymous MariaDB users", user="", hosts=[], password_hash="")
    return lambda: started.did_change() or restart.did_change()


def manages(s):
    if not s.is_db:
        return Managed()
    grants = "".join(f"SHOW GRANTS FOR '{s.db_user}'@'{client}'; " for client in s.roles.db_clients)
    # what this app's deploy ensures alone: the other apps' databases and users are theirs
    schemas = ", ".join(f"'{name}'" for name in (s.db_name, s.drill_names[0], "test"))
    users = ", ".join(f"'{name}'" for name in (s.db_user, s.drill_names[1], ""))
    sql = (  # db_name and db_user are checked names, the clients addresses
        "SELECT SCHEMA_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "  # noqa: S608
        f"WHERE SCHEMA_NAME IN ({schemas}) ORDER BY 1; "
        f"SELECT User, Host, plugin, SHA2(authentication_string, 256) FROM mysql.user WHERE User IN ({users}) "
        "ORDER BY 1, 2; " + grants
    )
    return Managed(files=(CONFIG,), services=("mariadb",), commands=("mariadb -N -B -e " + shlex.quote(sql),))
