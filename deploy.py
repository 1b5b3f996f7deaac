"""Puts the Flask app into production on Debian servers: pyinfra inventory.py deploy.py"""

from tasks.apt import system_packages
from tasks.git_latest_tag import app_source
from tasks.mysql import database
from tasks.nginx import web_server
from tasks.supervisor import app_server
from tasks.venv import app_environment

system_packages()
database()
app_source()
app_server(restart=app_environment())
web_server()
