"""Where an app lives on its server, and the release program's settings.

The deploy renders the settings into /etc/<app>/release.json. Both sides take every path from
Paths, so the layout on the server is stated here alone."""

import json
from dataclasses import dataclass, fields


def build_user_for(app_user, build_user=None):
    """The account that fetches and builds the releases: `build_user`, else <app_user>_build."""
    return build_user or f"{app_user}_build"


@dataclass(frozen=True)
class Paths:
    """An app's places on a server. app_dir is root's: in it the build account owns the repository,
    the releases and the venvs (the app user reads them, and cannot change them), the app user owns
    `shared`, and root the links saying what runs. Root trusts neither account; state_dir,
    config_dir and backup_dir are root's alone."""

    app_name: str
    app_user: str
    build_user: str

    @property
    def home(self):  # the app user's
        return f"/home/{self.app_user}"

    @property
    def build_home(self):
        return f"/home/{self.build_user}"

    @property
    def app_dir(self):
        return f"/srv/{self.app_name}"

    @property
    def repo(self):  # the build account's bare git repository: fetched from the URL, or shipped by the deploy
        return f"{self.app_dir}/repo"

    @property
    def releases(self):  # the build account's releases/<release>/: the code of one commit, its venv linked in
        return f"{self.app_dir}/releases"

    @property
    def venvs(self):  # the build account's venvs/<key>/: one per requirements and pip settings
        return f"{self.app_dir}/venvs"

    @property
    def slots(self):  # root's links slots/blue, slots/green -> the release each color of gunicorn runs
        return f"{self.app_dir}/slots"

    @property
    def shared(self):  # the app user's: its .env (and what the app keeps across releases)
        return f"{self.app_dir}/shared"

    @property
    def env_file(self):  # the app's settings and secrets, linked into every release
        return f"{self.shared}/.env"

    @property
    def current(self):  # root's link -> releases/<release>: what serves
        return f"{self.app_dir}/current"

    @property
    def state_dir(self):  # root's, 0700: state.json, the lock, release.log
        return f"/var/lib/{self.app_name}"

    @property
    def config_dir(self):  # root's: release.json, secrets.env and mysql-client.cnf (0600), pip-constraints.txt
        return f"/etc/{self.app_name}"

    @property
    def converged_file(self):  # what the last good deploy left: see core/plan/converged.py
        return f"{self.state_dir}/converged"

    @property
    def release_config(self):
        return f"{self.config_dir}/release.json"

    @property
    def secrets_file(self):
        return f"{self.config_dir}/secrets.env"

    @property
    def db_client_file(self):
        return f"{self.config_dir}/mysql-client.cnf"

    @property
    def drill_client_file(self):  # the restore drill's scratch database, its own user
        return f"{self.config_dir}/mysql-drill.cnf"

    @property
    def program_secrets(self):  # root's, 0600: the off-site repository's password and credentials, the alert URL
        return f"{self.config_dir}/release-secrets.env"

    @property
    def backup_ssh_key(self):  # root's, 0600: the key of an sftp: repository
        return f"{self.config_dir}/backup-ssh-key"

    @property
    def backup_known_hosts(self):  # root's: the sftp host's key (backup_ssh_host_key, or the one met first)
        return f"{self.config_dir}/backup-known-hosts"

    @property
    def pip_constraints(self):
        return f"{self.config_dir}/pip-constraints.txt"

    @property
    def pip_config(self):  # root's, readable by the build account's group: pip reads no pip.conf of its own
        return f"{self.config_dir}/pip.conf"

    @property
    def nightly_record(self):  # what the nightly backup last did, for `report`
        return f"{self.state_dir}/nightly.json"

    @property
    def offsite_record(self):  # the last off-site copy and restore drill, for `report`
        return f"{self.state_dir}/offsite.json"

    @property
    def restore_staging(self):  # root's: what a restore takes from the off-site repository
        return f"{self.state_dir}/restore"

    @property
    def incoming_bundle(self):  # commits shipped from the deploying machine
        return f"{self.state_dir}/incoming.bundle"

    @property
    def backup_dir(self):  # root's, 0700: database dumps, 0600
        return f"/var/backups/{self.app_name}"

    @property
    def nginx_dir(self):  # root's: the maintenance rules and page, the live upstream on a lone host
        return f"/etc/nginx/{self.app_name}"

    @property
    def maintenance_link(self):  # -> maintenance-rules.conf while the site is in maintenance
        return f"{self.nginx_dir}/maintenance.conf"

    @property
    def maintenance_rules(self):
        return f"{self.nginx_dir}/maintenance-rules.conf"

    @property
    def static_config(self):  # where nginx finds /static on a lone host: the serving release's own folder
        return f"{self.nginx_dir}/static.conf"

    @property
    def program(self):
        return f"/usr/local/sbin/{self.app_name}-release"


@dataclass(frozen=True)
class Config:
    """The settings of one app's release program on one host."""

    app_name: str
    app_user: str  # runs the app: gunicorn, migrations, hooks
    build_user: str  # fetches and builds the releases: git, pip
    env_names: tuple  # the names of the app's .env that reach its environment (app-exec)
    db_name: str
    flask_app: str
    app_module: str  # module:name, or module:factory() (called with no arguments)
    migrations: str  # auto (when the release has migrations/env.py), on, off
    gunicorn_requirement: (
        str  # the requirement that puts gunicorn in a venv whose app names none, e.g. gunicorn==23.0.0
    )
    repo_url: str | None  # fetched by the server; None when the deploy ships the commits
    ref: str | None  # the pinned tag or branch; None: the latest tag
    pip_options: tuple
    pip_key: str  # identifies the pip options and constraints: part of every venv's key
    releases_keep: int
    backups_keep: int
    log_dir: str
    gunicorn_host: str  # the address gunicorn listens on: loopback, or the private one
    gunicorn_ports: tuple  # the ports of the blue and the green gunicorn
    workers: int  # gunicorn's workers in each color (its -w)
    nginx_upstream_link: str | None  # the link this host's nginx takes its upstream from, when it flips colors
    static_path: str | None  # the release's folder this host's nginx serves at /static (with the upstream link)
    site_url: str | None  # this host's nginx (https://127.0.0.1, ...), when it serves the site
    health_path: str
    health_host: str  # Host header (and TLS server name) of the health check
    health_check_max_status: int
    health_check_seconds: int
    release_lock_seconds: int  # how long a release waits for another one to finish
    git_timeout_seconds: int
    build_timeout_seconds: int
    migrate_timeout_seconds: int
    hooks_before_migrate: tuple  # commands (argv) run in a new release before its migration
    hooks_after_switch: tuple  # commands (argv) run in a release once it serves
    maintenance_for_breaking_migrations: bool  # the site in maintenance around them (one-go deploys)
    backups_nightly_keep: int  # nightly dumps kept, apart from those releases and operators take
    roles: tuple  # this host's: web, app, db
    maintenance_link: str | None  # on a web host: the link that puts its nginx site in maintenance
    certificate: str | None  # on a web host with TLS: the certificate nginx serves
    offsite: bool  # this host copies every dump to the off-site repository (root's release-secrets.env)
    offsite_host: str  # the host's name in the repository's snapshots
    restic_options: tuple  # restic's options for the repository (an sftp: one's ssh command)
    offsite_paths: tuple  # folders of the app's shared folder copied with each dump
    backup_offsite_keep: tuple  # ((kind, count), ...): restic forget --keep-<kind> <count>
    drill: bool  # the restore drill's scratch database is there (drill_client_file)
    drill_db: str  # its name

    @property
    def paths(self):
        return Paths(self.app_name, self.app_user, self.build_user)

    @classmethod
    def load(cls, path):
        with open(path) as handle:
            data = json.load(handle)
        names = {field.name for field in fields(cls)}
        unknown, missing = set(data) - names, names - set(data)
        if unknown or missing:
            raise ValueError(f"{path}: unknown settings {sorted(unknown)}, missing {sorted(missing)}")
        lists = ("pip_options", "gunicorn_ports", "roles", "env_names", "restic_options", "offsite_paths")
        hooks = ("hooks_before_migrate", "hooks_after_switch")
        tuples = {name: tuple(data[name]) for name in lists}
        tuples.update({name: tuple(tuple(argv) for argv in data[name]) for name in (*hooks, "backup_offsite_keep")})
        return cls(**{**data, **tuples})
