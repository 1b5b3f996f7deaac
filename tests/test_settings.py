"""Settings: one comment each, the article's defaults, every bad value refused before any
connection with the setting and the fix named, and what each host's settings resolve to."""

import re

import pytest
from pyinfra.api import Inventory
from pyinfra.api.exceptions import PyinfraError

from core.glue.render import render_text
from core.glue.system import debian_release
from core.settings.checks import problems, roles_problems
from core.settings.names import DEFAULTS as DECLARATIONS
from core.settings.resolved import known_constraints
from core.settings.roles import Roles, layouts
from core.settings.secrets import SECRET, Secrets, _parse
from flask_release.app_env import parse
from tests.helpers import ALONE, DEFAULTS, SPREAD, data, settings_of


def test_every_setting_has_a_one_line_comment():
    with open(DECLARATIONS) as handle:
        assignments = [line for line in handle if re.match(r'^[a-z_]+(: "[a-z_]+")? = ', line)]
    assert len(assignments) == len(DEFAULTS)
    assert all("  # " in line for line in assignments), [line for line in assignments if "  # " not in line]


def test_defaults_follow_the_article():
    assert DEFAULTS["app_name"] == "microblog" and DEFAULTS["app_user"] == "deploy"
    assert DEFAULTS["repo"] == "https://github.com/dbwebb-se/microblog.git"
    assert DEFAULTS["bind"] == "127.0.0.1:8000" and DEFAULTS["app_module"] == "microblog:app"


def test_default_settings_pass_with_an_email_and_a_public_domain():
    assert problems(data(domain="blog.example.org", acme_email="ops@example.org")) == []
    assert problems(data(tls="self-signed")) == []  # localhost is fine without a public CA


def test_letsencrypt_needs_an_email_and_a_public_dns_name():
    found = problems(data(domain="localhost"))
    assert any(p.startswith("`acme_email` = None is required with tls") for p in found)
    assert any("`domain` = 'localhost'" in p and "not a public DNS name" in p for p in found)
    for name in ("203.0.113.7", "blog.test", "intranet", "app.localhost"):
        assert any(
            "not a public DNS name" in p or "not a valid DNS name" in p
            for p in problems(data(domain=name, acme_email="a@b.org"))
        ), name


def test_bad_settings_are_all_reported_at_once_with_the_setting_named():
    found = problems(
        data(
            app_user="x; rm -rf /",
            workers=0,
            bind="8000",
            tls="sometimes",
            domain="bad domain",
            repo="/no/such/repository",
        )
    )
    assert len(found) == 6
    for setting in ("app_user", "workers", "bind", "tls", "domain", "repo"):
        assert any(f"`{setting}`" in problem for problem in found), setting


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("db_name", "test", "taken by the system"),
        ("db_name", "mysql", "taken by the system"),
        ("db_name", "information_schema", "taken by the system"),
        ("db_name", "performance_schema", "taken by"),
        ("db_name", "sys", "taken by"),
        ("db_user", "root", "taken by"),
        ("db_user", "mysql", "taken by"),
        ("db_user", "mariadb.sys", "not a safe name"),
        ("app_user", "root", "taken by"),
        ("app_user", "www-data", "not a"),
        ("app_user", "nobody", "taken by"),
        ("app_user", "daemon", "taken by"),
        ("app_name", "certs", "taken by"),
        ("app_name", "private", "taken by"),
        ("app_name", "nginx", "taken by"),
        ("app_name", "supervisor", "taken by"),
        ("app_name", "default", "taken by"),
        ("static_path", "../../..", "must stay inside the release"),
        ("static_path", "/etc", "must stay inside"),
        ("static_path", "app/../../x", "must stay inside"),
        ("health_check_path", "health", "must be a URL path starting with /"),
        ("health_check_path", "/a b", "URL path"),
        ("health_check_seconds", 0, "positive whole number"),
        ("release_lock_seconds", -5, "positive whole number"),
        ("migrate_timeout_seconds", "10", "positive whole number"),
        ("git_timeout_seconds", True, "positive whole"),
        ("health_check_max_status", 99, "from 200 to 599"),
        ("health_check_max_status", 600, "from 200 to 599"),
        ("public_https_port", "https", "must be a port number"),
        ("public_https_port", 70000, "port number"),
        ("bind", "127.0.0.1:http", "numeric port"),
        ("bind", "127.0.0.1:0", "numeric port"),
        ("backups_keep", 0, "positive whole number"),
        ("releases_keep", 0, "positive whole number"),
        ("server_names", ["blog.example.org", "bad name"], "not host names"),
        ("ref", "--upload-pack=x", "not a tag or branch name"),
        ("log_dir", "relative/logs", "absolute folder"),
        ("app_module", "microblog:app; rm", "WSGI entry point"),
        ("flask_app", "../x.py", "app's module or file"),
        ("firewall", "yes", "True or False"),
        ("app_module", "hello:create_app(debug=True)", "module:factory()"),
        ("migrations", "sometimes", "auto (when the release has migrations/env.py), on or off"),
        ("gunicorn_version", "latest", "a version of gunicorn"),
        ("app_env", "MAIL_SERVER=smtp", "mapping of names to values"),
        ("app_env", {"mail_server": "smtp"}, "names 'mail_server': use upper-case letters"),
        ("app_env", {"DATABASE_URL": "sqlite://"}, "the deploy's own"),
        ("app_env", {"GREETING": "costs $5"}, "value of GREETING holds a quote, backslash, $"),
        ("app_env", {"GREETING": 'say "hi"'}, "make it a secret (app_secrets)"),
        ("app_secrets", "API_TOKEN api_key", "names 'api_key'"),
        ("app_secrets", ["SECRET_KEY"], "the deploy's own"),
        ("hooks_after_switch", ["flask 'translate"], "a list of commands"),
        ("hooks_before_migrate", [""], "a list of commands"),
        ("hooks_before_migrate", [["flask", "db"]], "a list of commands"),
        ("backup_time", "3:30", "HH:MM"),
        ("backup_time", "24:00", "HH:MM"),
        ("backups_nightly_keep", 0, "positive whole number"),
        ("maintenance_page", "/no/such/page.html", "not a file on this machine"),
    ],
)
def test_each_unsafe_or_broken_setting_is_refused_naming_it(setting, value, message):
    found = problems(data(tls="self-signed", **{setting: value}))
    assert any(f"`{setting}`" in problem and message in problem for problem in found), found


def test_hooks_are_one_command_or_a_list_each_split_as_a_shell_would():
    assert settings_of(hooks_before_migrate="flask translate compile").hooks_before_migrate == (
        ("flask", "translate", "compile"),
    )
    s = settings_of(hooks_after_switch=["sh -c 'echo \"a b\"'", "true"])
    assert s.hooks_after_switch == (("sh", "-c", 'echo "a b"'), ("true",)) and s.hooks_before_migrate == ()


def test_the_apps_own_settings_plain_and_secret():
    assert problems(data(tls="self-signed", app_module="hello:create_app()", migrations="off")) == []
    found = problems(data(tls="self-signed", app_env={"API_TOKEN": "x"}, app_secrets="API_TOKEN"))
    assert any("`app_secrets`" in problem and "name it once" in problem for problem in found)
    s = settings_of(app_env={"GREETING": "Hello, world", "MAIL_PORT": 587}, app_secrets="API_TOKEN, MAIL_PASSWORD")
    assert s.app_env == (("GREETING", "Hello, world"), ("MAIL_PORT", "587"))
    assert s.app_secrets == ("API_TOKEN", "MAIL_PASSWORD")
    assert s.gunicorn_requirement == "gunicorn==23.0.0"
    assert settings_of(gunicorn_version="22.0.0").pip_key != s.pip_key  # another gunicorn: other venvs


def test_the_env_file_holds_the_apps_own_settings_as_the_app_reads_them():
    s = settings_of(app_env={"GREETING": "Hello, world #1"})
    token = (("API_TOKEN", "t0k#n!"),)
    url = "mysql+pymysql://u:p@localhost:3306/d"
    text = render_text("env.j2", s, secret_key="k" * 20, database_url=url, app_secrets=token)
    assert parse(text) == {
        "SECRET_KEY": "k" * 20,
        "DATABASE_URL": url,
        "GREETING": "Hello, world #1",
        "API_TOKEN": "t0k#n!",
    }
    kept = render_text(
        "secrets.env.j2", s, secret_key="k" * 20, db_password="p" * 20, app_secrets=(("API_TOKEN", "t0k#n!"),)
    )
    assert _parse(kept, ("API_TOKEN",)) == {"SECRET_KEY": "k" * 20, "DB_PASSWORD": "p" * 20, "API_TOKEN": "t0k#n!"}
    assert "API_TOKEN" not in _parse(kept)  # kept only while app_secrets names it


def test_server_names_given_as_one_string_are_split_not_taken_letter_by_letter():
    s = settings_of(server_names="blog.example.org,www.blog.example.org")
    assert s.server_names == ("blog.example.org", "www.blog.example.org")
    assert settings_of(server_names="a.example.org b.example.org").server_names == ("a.example.org", "b.example.org")
    assert settings_of(domain="example.org").server_names == ("example.org", "www.example.org")


def test_secrets_are_kept_only_when_a_dotenv_file_keeps_them_as_they_are():
    assert SECRET.match("Aa0-_.~+/=:@%,!#*()[]{}^|?<>;" + "x" * 10)
    for bad in ('has"quote', "has'quote", "has`tick", "back\\slash", "dol$lar", "spa ce", "short"):
        assert not SECRET.match((bad + "x" * 16) if bad != "short" else bad), bad
    assert Secrets("k", "password").db_password_hash == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"


def test_roles_problems_name_the_variable_to_fix():
    assert roles_problems({"web": ["a"], "app": ["a"], "db": ["a"]}, {"a": "a.example.org"}) == []
    found = roles_problems(
        {"web": ["w"], "app": ["a"], "db": ["d1", "d2"]},
        {"w": "10.0.0.1", "a": "app.example.org", "d1": "10.0.0.3", "d2": "10.0.0.4"},
    )
    assert any("2 database hosts" in problem and "DEPLOY_DB_HOST" in problem for problem in found)
    assert any(problem.startswith("a needs the IP address") and "a=PRIVATE_IP" in problem for problem in found)


def test_the_layouts_are_the_role_groups_or_each_host_a_stack_of_its_own():
    groups = {"web": (["w1", "w2"], {}), "app": (["a"], {}), "db": (["d"], {})}
    assert layouts(Inventory((["w1", "w2", "a", "d"], {}), **groups)) == [
        {"web": ("w1", "w2"), "app": ("a",), "db": ("d",)}
    ]
    external = Inventory(([("w1", {"db_host": "db.example.org"}), "a", "d"], {}), **groups)
    assert layouts(external)[0]["db"] == ()  # an external database: no host holds the db role
    assert layouts(Inventory((["x", ("y", {"db_host": "db.example.org"})], {}))) == [
        {"web": ("x",), "app": ("x",), "db": ("x",)},
        {"web": ("y",), "app": ("y",), "db": ()},
    ]


def test_one_host_keeps_everything_on_loopback_and_checks_health_through_nginx():
    s = settings_of()
    assert s.gunicorn_host == "127.0.0.1" and s.gunicorn_ports == (8000, 8001) and s.db_address == "127.0.0.1"
    assert s.upstream == (("one", ("127.0.0.1:8000", "127.0.0.1:8001")),) and s.static_from_disk and s.workers == 4
    assert s.forwarded_allow_ips == "127.0.0.1"
    assert s.site_url == "https://127.0.0.1" and s.health_path == "/" and s.health_host == "localhost"
    assert s.nginx_upstream_link == "/etc/microblog/live.conf".replace("/etc/", "/etc/nginx/")
    assert s.paths.env_file == "/srv/microblog/shared/.env" and s.paths.state_dir == "/var/lib/microblog"
    assert s.paths.releases == "/srv/microblog/releases" and (s.app_user, s.build_user) == ("deploy", "deploy_build")
    assert settings_of(tls="off").site_url == "http://127.0.0.1"


@pytest.mark.parametrize(
    ("overrides", "fix"),
    [
        ({"build_user": "deploy"}, "other than app_user's"),
        ({"build_user": "root"}, "other than app_user's"),
        ({"build_user": "Build-er"}, "lowercase letters"),
        ({"app_user": "a" * 30}, "None makes <app_user>_build"),  # 36 characters: too long for an account
    ],
)
def test_the_build_account_is_an_account_of_its_own(overrides, fix):
    found = [problem for problem in problems(data(tls="self-signed", **overrides)) if "`build_user`" in problem]
    assert len(found) == 1 and fix in found[0], found
    assert settings_of(build_user="ci_builder").paths.build_home == "/home/ci_builder"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("repo", "https://ghp_token123@github.com/org/app.git"),
        ("repo", "https://user:pass@git.example.org/app.git"),
        ("repo", "ssh://git:secret@git.example.org/app.git"),
        ("pip_index_url", "https://user:token@pypi.example.org/simple"),
        ("pip_extra_args", "--extra-index-url https://__token__:abc@pkgs.example.org/simple"),
        ("acme_directory", "https://user:pw@acme.example.org/directory"),
    ],
)
def test_credentials_in_urls_are_refused_naming_the_secret_way(setting, value):
    found = [problem for problem in problems(data(tls="self-signed", **{setting: value})) if f"`{setting}`" in problem]
    assert found and "credentials" in found[0], found
    way = {"repo": "a clone on this machine", "acme_directory": "plain URL"}.get(setting, "DEPLOY_PIP_INDEX_URL")
    assert way in found[0]


@pytest.mark.parametrize(
    "repo", ["git@github.com:org/app.git", "ssh://git@git.example.org/app.git", "https://github.com/org/app.git"]
)
def test_an_ssh_user_is_no_credential(repo):
    assert not [problem for problem in problems(data(tls="self-signed", repo=repo)) if "`repo`" in problem]


def test_a_spread_layout_binds_private_addresses_and_checks_each_app_host_on_gunicorn():
    app = settings_of("app1", SPREAD)
    assert app.forwarded_allow_ips == "10.0.0.1"
    assert app.site_url is None and app.nginx_upstream_link is None and app.db_address == "10.0.0.4"
    assert app.gunicorn_host == "10.0.0.2" and app.gunicorn_ports == (8000, 8001)
    web = settings_of("web", SPREAD)
    assert web.upstream == (("app1", ("10.0.0.2:8000", "10.0.0.2:8001")), ("app2", ("10.0.0.3:8000", "10.0.0.3:8001")))
    assert not web.static_from_disk
    assert web.site_url == "https://127.0.0.1" and web.nginx_upstream_link is None
    assert SPREAD.db_clients == ("10.0.0.2", "10.0.0.3") and ALONE.db_clients == ("localhost",)


def test_the_article_s_repository_gets_the_known_good_constraints_and_others_none():
    for repo in (
        "https://github.com/dbwebb-se/microblog.git",
        "https://github.com/dbwebb-se/microblog",
        "git@github.com:dbwebb-se/microblog.git",
        "git://mirror.example.org/dbwebb-se/microblog.git",
    ):
        assert known_constraints(repo).endswith("constraints/dbwebb-se-microblog.txt"), repo
    assert known_constraints("https://github.com/someone/else.git") is None
    s = settings_of()
    assert s.pip_options == ("-c", "/etc/microblog/pip-constraints.txt") and s.pip_constraints
    with open(s.pip_constraints) as handle:
        assert "WTForms<3.3" in handle.read()
    other = settings_of(repo="https://example.org/app.git")
    assert other.pip_options == () and other.pip_key != s.pip_key


class HostOf:
    """A host whose System fact reads `output` (what the fact's command printed)."""

    name = "vps"

    def __init__(self, *output):
        self.output = list(output)

    def get_fact(self, fact):
        return fact().process(self.output)


@pytest.mark.parametrize(("version", "name"), [("12", "bookworm"), ("13", "trixie")])
def test_debian_12_and_13_are_read_from_the_host(version, name):
    host = HostOf("4", "ID=debian", f'VERSION_ID="{version}"', f'PRETTY_NAME="Debian GNU/Linux {version} ({name})"')
    assert debian_release(host) == (int(version), 4, {"12": "3.11", "13": "3.13"}[version])  # no python3 yet
    host.output.append("PYTHON=3.11.2")
    assert debian_release(host)[2] == "3.11.2"


@pytest.mark.parametrize(
    ("lines", "found"),
    [
        (["ID=debian", 'VERSION_ID="11"', 'PRETTY_NAME="Debian 11 (bullseye)"'], "Debian 11 (bullseye)"),
        (["ID=ubuntu", 'VERSION_ID="24.04"', 'PRETTY_NAME="Ubuntu 24.04.1 LTS"'], "Ubuntu 24.04.1 LTS"),
        (["ID=debian", 'PRETTY_NAME="Debian GNU/Linux forky/sid"'], "Debian GNU/Linux forky/sid"),
        ([], "an unknown system"),
    ],
)
def test_any_other_system_is_refused_naming_what_it_runs_and_what_is_supported(lines, found):
    with pytest.raises(PyinfraError) as error:
        debian_release(HostOf("2", *lines))
    assert str(error.value) == (
        f"vps runs {found}: this deploy supports Debian 12 (bookworm) and Debian 13 (trixie) only. Nothing was changed."
    )


def test_an_external_database_takes_the_place_of_the_db_host():
    layout = Roles(web=("one",), app=("one",), db=None, addresses=(("one", "203.0.113.5"),))
    s = settings_of(layout=layout, db_host="db.example.net", db_port=3307)
    assert (s.db_address, s.db_port, s.is_db, layout.hosts) == ("db.example.net", 3307, False, ("one",))
    assert settings_of(db_port=3307).db_port == 3306  # the db host's MariaDB listens where the deploy puts it
    assert roles_problems({"web": ["one"], "app": ["one"], "db": []}, {"one": "203.0.113.5"}, external_db=True) == []
    assert "database hosts" in roles_problems({"web": ["one"], "app": ["one"], "db": []}, {"one": "203.0.113.5"})[0]
    found = problems(data(tls="self-signed", db_host="db.example.net; rm", db_port=0))
    assert any("`db_host`" in problem for problem in found) and any("`db_port`" in problem for problem in found)
