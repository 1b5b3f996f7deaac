"""Puts the Flask app into production on Debian servers: pyinfra inventory.py deploy.py

Each host does the tasks of its roles (inventory groups web, app and db; all three by default).
The release comes last, in steps every host joins, once the database and nginx are ready
everywhere; then every host checks that the site serves. A host as the last good deploy left
it only checks that; one server alone so left, with a new release waiting, only releases it."""

from pyinfra import host, logger, state

import preflight
from core.plan.across_hosts import hand_over, handed
from core.plan.source import plan
from core.plan.unchanged import converged, releasing
from core.settings.resolved import settings
from operations.release import all_hosts_ready
from tasks.accounts import app_accounts
from tasks.app_settings import app_settings
from tasks.apps_here import app_recorded
from tasks.apt import system_packages
from tasks.backups import nightly_backups
from tasks.certbot import tls_certificate
from tasks.firewall import firewall
from tasks.git_latest_tag import app_source
from tasks.health import site_serves
from tasks.mysql import database
from tasks.nginx import serve, web_server
from tasks.program import release_program_installed
from tasks.release import release_app
from tasks.supervisor import app_server
from tasks.venv import app_venv

preflight.checked(state)
s = settings()

unchanged = converged()
if unchanged and not releasing():
    serving = f"{plan(host).serving} serves already and " if s.is_app else ""
    logger.info(f"{s.name}: {serving}nothing changed since the last deploy: checking that the site serves")
    site_serves(converged=True)
elif unchanged and len(s.roles.hosts) == 1:  # (several hosts take the same steps: the full path)
    logger.info(f"{s.name}: nothing changed since the last deploy but the release")
    app_source()
    release_app()
    site_serves()
else:
    app_recorded()
    system_packages()
    release_program_installed()
    if s.is_app:
        app_accounts()
        app_source()
        app_venv()  # pip builds it while the tasks below set the server up
    firewall()
    if s.is_db:
        hand_over(mariadb_started=database())
    if s.is_app:
        env_file = app_settings()
        if s.name == s.roles.migrating_host:
            nightly_backups()
    if s.is_web:
        certificate = web_server()  # the one it has: ACME challenges need the site on port 80 first
        wanted = tls_certificate()
        if wanted != certificate:
            serve(wanted)

    all_hosts_ready(name="Every host is ready")  # MariaDB restarted, .env written: now the app may reload
    if s.is_app:
        app_server(env_file, database_started=handed(s.roles.db, "mariadb_started"))
    release_app()
    site_serves()
