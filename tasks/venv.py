import os

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files

from tasks.common import app_secrets, database_url, db_client_file, render, secret_file, settings
from tasks.layout import DB_PORT, layout


@deploy("App settings and pip options")
def app_environment():
    """Ensures the `.env` that every release shares (SECRET_KEY and DATABASE_URL; 0600, the app
    user's), the release script's MariaDB credentials when MariaDB runs on another host (0600), and the pip constraints file when `pip_constraints` is set. The venvs themselves are
    built per requirements by the release script. Returns whether the running app must reload."""
    s = settings()
    secret_key, db_password, _ = app_secrets()
    env_file = secret_file(name=f"{s.env_file} (0600)",
                           src=render("env.j2", secret_key=secret_key, database_url=database_url()),
                           dest=s.env_file, user=s.app_user)
    if db_client_file():
        secret_file(name=f"{db_client_file()} (0600)", dest=db_client_file(), user=s.app_user,
                    src=render("mysql-client.cnf.j2", db_address=layout().db_address, db_port=DB_PORT,
                               db_password=db_password))
    constraints = host.data.get("pip_constraints")
    if constraints:
        files.put(name="pip constraints", src=os.path.expanduser(constraints), dest=f"{s.app_dir}/shared/pip-constraints.txt",
                  user=s.app_user, group=s.app_user, mode="0644")
    return env_file.will_change
