"""A misspelt setting stops the real command line before any connection, naming the nearest
setting, whichever source it came in: --data, a host of inventory.py, a group_data file (the
hosts below do not exist: nothing is reached)."""

import json
import os
import socket
import subprocess
import sys

from core.settings import environment
from core.settings.kinds import KINDS
from core.settings.names import declared, declared_kinds, unknown_problems
from testbed.servers import PYINFRA, ROOT
from tests.helpers import settings_of
from tools import settings_reference

HOST = "192.0.2.1"


def pyinfra(tmp_path, *args, inventory="inventory.py", env=None):
    variables = {**os.environ, environment.HOSTS: HOST, environment.SSH_KNOWN_HOSTS: str(tmp_path / "known_hosts")}
    for name in (*environment.HOST_VARIABLES, environment.SSH_KEY, environment.SETTINGS_FILE):
        if name != environment.HOSTS:
            variables.pop(name, None)
    variables.update(env or {})
    result = subprocess.run(
        [PYINFRA, "-y", *args, inventory, "deploy.py"], cwd=ROOT, env=variables, capture_output=True, text=True
    )
    return result.returncode, result.stdout + result.stderr


def refused(code, output, *said):
    assert code != 0 and "Settings need fixing before anything changes" in output, output
    for text in said:
        assert text in output, output
    assert "Connected" not in output


def test_a_typo_in_data_is_refused_with_the_nearest_setting(tmp_path):
    code, output = pyinfra(tmp_path, "--data", "helth_check_path=/login", "--data", "worker=8")
    refused(
        code,
        output,
        "`helth_check_path` (--data) is not a setting: did you mean `health_check_path`?",
        "`worker` (--data) is not a setting: did you mean `workers`?",
    )


def test_a_typo_in_a_host_of_the_inventory_is_refused(tmp_path):
    inventory = tmp_path / "servers.py"
    inventory.write_text(f"web = app = db = [({HOST!r}, {{'ssh_user': 'root', 'acme_emial': 'ops@example.org'}})]\n")
    code, output = pyinfra(tmp_path, inventory=str(inventory))
    refused(code, output, f"`acme_emial` (inventory.py, host {HOST}) is not a setting: did you mean `acme_email`?")


def test_a_typo_in_the_settings_file_is_refused_once(tmp_path):
    settings = tmp_path / "blog.py"
    settings.write_text("app_name = 'blog'\ndb_nme = 'blog'\n")
    code, output = pyinfra(tmp_path, env={environment.SETTINGS_FILE: str(settings)})
    refused(code, output, f"`db_nme` (DEPLOY_SETTINGS={settings}) is not a setting: did you mean `db_name`?")
    assert output.count("`db_nme`") == 1, output  # (inventory.py puts it in the host's data too)


def test_a_settings_file_that_is_not_there_is_named(tmp_path):
    code, output = pyinfra(tmp_path, env={environment.SETTINGS_FILE: str(tmp_path / "blgo.py")})
    assert code != 0 and f"DEPLOY_SETTINGS: '{tmp_path / 'blgo.py'}' is not a file" in output, output
    assert "Connected" not in output


def test_a_typo_in_a_group_data_file_is_refused(tmp_path):
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "web.py").write_text("hsts = True\nserver_name = ['blog.example.org']\n")
    code, output = pyinfra(tmp_path, "--group-data", str(tmp_path / "group_data"))
    refused(code, output, "`server_name` (group data of web) is not a setting: did you mean `server_names`?")
    assert "hsts" not in output


def test_a_typo_in_group_data_all_is_refused(tmp_path):
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "all.py").write_text("from core.settings.defaults import *  # noqa\nbackups_kep = 3\n")
    code, output = pyinfra(tmp_path, "--group-data", str(tmp_path / "group_data"))
    refused(code, output, "`backups_kep` (group_data/all.py) is not a setting: did you mean `backups_keep`?")


def test_pyinfras_own_names_pass_and_a_name_far_from_any_is_still_named():
    assert unknown_problems([("--data", {"ssh_port": 2222, "_sudo": True, "private_address": "10.0.0.2"})]) == []
    assert unknown_problems([("--data", {"zzz": 1})]) == [
        "`zzz` (--data) is not a setting: docs/settings.md lists the settings."
    ]
    assert {"repo", "health_check_path", "backup_repository"} <= set(declared())


def test_the_settings_reference_is_made_from_the_declarations_and_is_not_stale():
    with open(settings_reference.REFERENCE) as handle:
        assert handle.read() == settings_reference.reference(), "run: python -m tools.settings_reference"
    with open(settings_reference.DEFAULTS) as handle:
        declarations = settings_reference.declarations(handle.read())
    assert [name for name, *_ in declarations] == list(declared())  # every setting, in its order
    assert all(doc for _, _, doc, _ in declarations)  # each says what it does
    assert {kind for *_, kind in declarations} == {None, *settings_reference.KINDS}


READ_DEFAULTS = """
import json
from pyinfra.api import State
from pyinfra.context import ctx_state
from pyinfra_cli.inventory import make_inventory
ctx_state.set(State())
print(json.dumps(sorted(make_inventory("inventory.py", cwd=".").get_data())))
"""


def test_pyinfra_reads_every_default_through_group_data_all():
    variables = {name: value for name, value in os.environ.items() if name not in environment.HOST_VARIABLES}
    found = subprocess.run(  # (pyinfra's command line patches the process it is imported in)
        [sys.executable, "-c", READ_DEFAULTS], cwd=ROOT, env=variables, capture_output=True, text=True, check=True
    )
    assert json.loads(found.stdout.splitlines()[-1]) == sorted(declared())


def test_each_default_keeps_the_rule_of_its_kind_and_each_setting_is_an_attribute():
    defaults, kinds = declared(), declared_kinds()
    assert set(kinds.values()) <= set(KINDS) and set(kinds) <= set(defaults)
    assert [
        name for name, kind in kinds.items() if defaults[name] is not None and not KINDS[kind].check(defaults[name])
    ] == []
    s = settings_of()
    assert all(hasattr(s, name) for name in defaults)  # a new setting needs no line in core/settings/resolved.py
    assert s.backup_time == "03:30" and s.releases_keep == 5


def test_a_host_named_in_an_ssh_config_takes_its_address_port_user_and_key(tmp_path, monkeypatch):
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host blog\n  HostName 192.0.2.7\n  Port 2200\n  User admin\n  IdentityFile ~/keys/blog\n"
        f"  UserKnownHostsFile {tmp_path / 'known'}\n"
    )
    settings = tmp_path / "blog.py"
    settings.write_text("app_name = 'blog'\n")
    for name in (*environment.HOST_VARIABLES, environment.SSH_USER, environment.SSH_KEY, environment.SSH_PORT):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(environment.SSH_KNOWN_HOSTS, raising=False)
    monkeypatch.setenv(environment.HOSTS, "blog,192.0.2.9:2222=10.0.0.9")
    monkeypatch.setenv(environment.SSH_CONFIG, str(config))
    monkeypatch.setenv(environment.SETTINGS_FILE, str(settings))
    (name, blog), (_, other) = environment.servers_by_role()["web"]
    assert name == "blog" and blog["ssh_hostname"] == "192.0.2.7" and blog["ssh_port"] == 2200
    assert blog["ssh_user"] == "admin" and blog["_sudo"] and blog["ssh_key"] == os.path.expanduser("~/keys/blog")
    assert blog["ssh_known_hosts_file"] == str(tmp_path / "known") and blog["app_name"] == "blog"
    assert other["ssh_hostname"] == "192.0.2.9" and other["ssh_port"] == 2222 and other["ssh_user"] == "root"
    assert other["private_address"] == "10.0.0.9" and other["app_name"] == "blog"
    monkeypatch.setenv(environment.SSH_USER, "deployer")  # the variables over the file, as ssh's options
    assert environment.servers_by_role()["app"][0][1]["ssh_user"] == "deployer"


def test_reading_the_ssh_config_asks_no_name_service(tmp_path, monkeypatch):
    """(paramiko's lookup resolved this machine's name at each call: a minute per deploy without DNS.)"""
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host *.example.org !db.example.org\n  User web\nHost db.example.org\n  Port 2201\nHost *\n  Port 22\n"
    )
    for name in (*environment.HOST_VARIABLES, environment.SSH_USER, environment.SSH_KEY, environment.SSH_PORT):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(environment.SSH_KNOWN_HOSTS, str(tmp_path / "known"))
    monkeypatch.setenv(environment.HOSTS, "a.example.org,db.example.org")
    monkeypatch.setenv(environment.SSH_CONFIG, str(config))

    def refused(*args):
        raise AssertionError("a name service lookup")

    for name in ("getfqdn", "gethostbyaddr", "getaddrinfo"):
        monkeypatch.setattr(socket, name, refused)
    (_, web), (_, db) = environment.servers_by_role()["web"]
    assert (web["ssh_user"], web["ssh_port"]) == ("web", 22) and (db["ssh_user"], db["ssh_port"]) == ("root", 2201)
