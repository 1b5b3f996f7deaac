"""Puts the Flask app into production on Debian servers: pyinfra inventory.py deploy.py"""

from pyinfra import host, state

from tasks.apt import system_packages
from tasks.certbot import tls_certificate
from tasks.checks import check_settings
from tasks.firewall import firewall
from tasks.common import certificate_for, served_certificate
from tasks.git_latest_tag import app_source
from tasks.mysql import database
from tasks.nginx import web_server
from tasks.release import release_app
from tasks.supervisor import app_server
from tasks.venv import app_environment

check_settings(host, state)

system_packages()
firewall()
database_restarted = database()
app_source()
settings_changed = app_environment()

serving = served_certificate()
web_server(certificate=serving)  # ACME challenges need the site up on port 80 first
tls_certificate()
wanted = certificate_for(host.data.tls)
if wanted != serving:
    web_server(certificate=wanted)  # the new certificate exists now: serve it

app_server(reload=settings_changed or database_restarted)
release_app()  # last: its health check goes through the finished nginx
