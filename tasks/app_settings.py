import shlex
from urllib.parse import quote

from pyinfra.api import deploy

from core.glue.render import render_text
from core.plan.managed import Managed
from core.settings.backup_settings import REST_PASSWORD, REST_USER, repository_with_credentials
from core.settings.resolved import settings
from core.settings.secrets import app_secrets
from operations.files import secret_file


@deploy("App settings and secrets")
def app_settings():
    """Ensures the settings and secrets every release of the host shares: root's copy of the
    secrets (0600), the app's .env with SECRET_KEY, DATABASE_URL, `app_env` and `app_secrets`
    (0600, the app user's, written as that user), root's MariaDB client file with the app's
    credentials (0600), and the release program's secrets (0600: the off-site repository and its
    credentials, the alert URL), with, for the restore drill, its database user's client file.
    Returns the .env's operation: a change reloads the app."""
    s = settings()
    secrets = app_secrets()
    paths = s.paths
    secret_file(
        name=f"{paths.secrets_file} (0600, root's)",
        dest=paths.secrets_file,
        content=render_text(
            "secrets.env.j2",
            s,
            secret_key=secrets.secret_key,
            db_password=secrets.db_password,
            app_secrets=secrets.app,
            pip_index_url=secrets.pip_index_url,
            drill_password=secrets.drill_password,
            backup=secrets.backup,
        ),
    )
    credentials = dict(secrets.backup)
    secret_file(
        name=f"{paths.program_secrets} (0600, root's)",
        dest=paths.program_secrets,
        content=render_text(
            "release-secrets.env.j2",
            s,
            repository=repository_with_credentials(s.backup_repository or "", credentials),
            backup=[(name, value) for name, value in secrets.backup if name not in (REST_USER, REST_PASSWORD)],
        ),
    )
    if s.offsite and s.drill:
        secret_file(
            name=f"{paths.drill_client_file} (0600, root's)",
            dest=paths.drill_client_file,
            content=render_text("mysql-client.cnf.j2", s, user=s.drill_names[1], db_password=secrets.drill_password),
        )
    secret_file(
        name=f"{paths.db_client_file} (0600, root's)",
        dest=paths.db_client_file,
        content=render_text("mysql-client.cnf.j2", s, db_password=secrets.db_password),
    )
    host_part = "localhost" if s.db_address == "127.0.0.1" else s.db_address
    url = f"mysql+pymysql://{s.db_user}:{quote(secrets.db_password, safe='')}@{host_part}:{s.db_port}/{s.db_name}"
    return secret_file(
        name=f"{paths.env_file} (0600, the app user's)",
        dest=paths.env_file,
        content=render_text("env.j2", s, secret_key=secrets.secret_key, database_url=url, app_secrets=secrets.app),
        _sudo=True,
        _sudo_user=s.app_user,
    )


def manages(s):
    if not s.is_app:
        return Managed()
    p = s.paths
    written = (p.secrets_file, p.db_client_file, p.program_secrets, p.drill_client_file)
    # the .env is an entry of the app user's folder: read as that user, whatever it is now
    app = f"runuser -u {shlex.quote(s.app_user)} --"
    env_file = shlex.quote(p.env_file)
    return Managed(
        paths=written,
        files=written,
        commands=(f"{app} stat -c '%n %a %U %G %F' {env_file}", f"{app} sha1sum {env_file}"),
    )
