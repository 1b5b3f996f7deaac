from pyinfra.api import deploy
from pyinfra.operations import files, mysql, systemd

from tasks.common import app_secrets, no_anonymous_users, render, set_mysql_password, settings


@deploy("MariaDB")
def database():
    """Ensures MariaDB runs on localhost only, with the app's database (utf8, utf8_bin) and a user
    at localhost with every right on that database and none elsewhere; no anonymous users, no
    `test` database, root only through the unix socket (Debian's default, kept). Returns whether
    MariaDB is (re)started, so that the app reloads."""
    s = settings()
    _, password, password_changed = app_secrets()
    config = files.put(
        name="MariaDB listens on localhost only",
        src=render("mariadb.cnf.j2"),
        dest="/etc/mysql/mariadb.conf.d/90-flask-deploy.cnf",
        mode="0644",
    )
    running = systemd.service(name="MariaDB is running and enabled", service="mariadb", running=True,
                              enabled=True)
    systemd.service(name="Restart MariaDB for its new config", service="mariadb", restarted=True,
                    _if=config.did_change)
    mysql.database(name=f"Database {s.db_name}", database=s.db_name, charset="utf8", collate="utf8_bin")
    mysql.user(name=f"Database user {s.db_user}@localhost", user=s.db_user, user_hostname="localhost",
               password=password)
    if password_changed:
        set_mysql_password(name=f"New password for {s.db_user}@localhost", user=s.db_user,
                           hostname="localhost", password=password)
    mysql.privileges(name=f"{s.db_user} has every right on {s.db_name} alone", user=s.db_user,
                     user_hostname="localhost", privileges=["ALL"], database=s.db_name)
    mysql.database(name="No test database", database="test", present=False)
    no_anonymous_users(name="No anonymous MariaDB users")
    # A (re)started MariaDB has dropped the app's pooled connections: the app must reload.
    return running.will_change or config.will_change
