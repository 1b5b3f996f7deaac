"""Puts the Flask app into production on Debian servers: pyinfra inventory.py deploy.py

Each host does the tasks of its roles (inventory groups web, app and db; all three by default).
The release comes last, in steps that every host joins, so it starts once the database and nginx
are ready everywhere."""

from pyinfra import host, state

from tasks.apt import system_packages
from tasks.certbot import tls_certificate
from tasks.checks import check_settings
from tasks.common import certificate_for, served_certificate
from tasks.firewall import firewall
from tasks.git_latest_tag import app_source
from tasks.layout import roles_of
from tasks.mysql import database, database_will_restart
from tasks.nginx import web_server
from tasks.release import all_hosts_ready, release_app
from tasks.supervisor import app_server
from tasks.venv import app_environment

check_settings(host, state)
roles = roles_of()

system_packages()
firewall()
if "db" in roles:
    database()
if "app" in roles:
    app_source()
    settings_changed = app_environment()
if "web" in roles:
    serving = served_certificate()
    web_server(certificate=serving)  # ACME challenges need the site up on port 80 first
    tls_certificate()
    wanted = certificate_for(host.data.tls)
    if wanted != serving:
        web_server(certificate=wanted)  # the new certificate exists now: serve it

all_hosts_ready(name="Every host is ready")  # MariaDB restarted, .env written: now the app may reload
if "app" in roles:
    app_server(reload=settings_changed or database_will_restart())
release_app()  # last: on one app host, its health check goes through the finished nginx
