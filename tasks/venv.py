import os
import shlex

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import Directory
from pyinfra.operations import files, pip, server

from tasks.common import app_secrets, as_app_user, database_url, release, render, secret_file, settings


@deploy("Virtualenv, settings and migrations")
def app_environment():
    """Ensures the app's venv with its requirements (installed only when requirements.txt changed),
    its `.env` (SECRET_KEY and DATABASE_URL; 0600, app user's) and its database schema at the
    migration head. Returns whether gunicorn must restart to pick the changes up."""
    s = settings()
    target = release()
    venv_missing = not host.get_fact(Directory, path=s.venv)
    pip.venv(name="Virtualenv", path=s.venv, python="python3", _sudo=True, _sudo_user=s.app_user)

    pip_options = []
    if host.data.get("pip_index_url"):
        pip_options += ["--index-url", host.data.pip_index_url]
    pip_options += shlex.split(host.data.get("pip_extra_args") or "")
    constraints = host.data.get("pip_constraints")
    if constraints:
        constraints_op = files.put(name="pip constraints", src=os.path.expanduser(constraints),
                                   dest=f"{s.venv}/constraints.txt", mode="0644")
        pip_options += ["-c", f"{s.venv}/constraints.txt"]
    options = " ".join(shlex.quote(option) for option in pip_options)
    installed = f"{s.venv}/.requirements.installed"
    if target.changed or venv_missing or (constraints and constraints_op.will_change):
        server.shell(
            name="pip install -r requirements.txt, when it changed",
            commands=[as_app_user(
                f"cd {shlex.quote(s.app_dir)} && {{ cmp -s requirements.txt {installed} || "
                f"{{ venv/bin/pip install -q {options} -r requirements.txt && cp requirements.txt {installed}; }}; }}"
            )],
        )

    secret_key, _, _ = app_secrets()
    env_file = secret_file(name=f"{s.env_file} (0600)", src=render("env.j2", secret_key=secret_key,
                                                                  database_url=database_url()),
                           dest=s.env_file, user=s.app_user)

    if target.changed:
        server.shell(
            name="flask db upgrade",
            commands=[as_app_user(f"cd {shlex.quote(s.app_dir)} && "
                                  f"FLASK_APP={shlex.quote(host.data.flask_app)} venv/bin/flask db upgrade")],
        )
    return target.changed or env_file.will_change
