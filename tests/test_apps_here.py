"""Several apps on one server, without one: the ports a new app gets and keeps, and what the deploy
refuses to take from another app there (core/plan/apps_here.py), and what removing one takes."""

from core.plan.apps_here import conflicts, others, record
from tasks.removal import SHARED, own_paths
from tests.helpers import settings_of

HELLO = {"app_name": "hello", "app_user": "hello", "db_name": "hello", "db_user": "hello"}  # its own


def on_one_host(*apps):
    return {"one": {found["app_name"]: found for found in apps}}


def test_an_app_takes_the_first_free_pair_of_ports_and_keeps_it():
    microblog = settings_of()
    assert microblog.gunicorn_ports == (8000, 8001)
    records = on_one_host(record(microblog))
    hello = settings_of(records=records, **HELLO)
    assert hello.gunicorn_ports == (8002, 8003)
    assert hello.upstream == (("one", ("127.0.0.1:8002", "127.0.0.1:8003")),)
    third = settings_of(records=on_one_host(record(microblog), record(hello)), app_name="third", app_user="third")
    assert third.gunicorn_ports == (8004, 8005)
    # kept: microblog's record says 8000 whatever else the server holds now
    assert settings_of(records=on_one_host(record(microblog), record(hello))).gunicorn_ports == (8000, 8001)
    # a `bind` set is taken as it is
    assert settings_of(records=records, bind="127.0.0.1:9000", **HELLO).gunicorn_ports == (9000, 9001)


def test_what_another_app_has_is_refused_naming_the_setting_and_the_app():
    microblog = settings_of(server_names=["localhost", "127.0.0.1"])
    records = on_one_host(record(microblog))
    apps = others(records["one"], "hello")
    same_user = settings_of(
        records=records, app_name="hello", db_name="hello", db_user="hello", server_names=["hello.localhost"]
    )
    assert conflicts(same_user, "one", apps) == [
        "`app_user` = 'deploy' is app microblog's on one: give hello its own.",
        "`build_user` = 'deploy_build' is app microblog's on one: give hello its own.",
    ]
    same_names = settings_of(records=records, server_names=["localhost"], **HELLO)
    assert conflicts(same_names, "one", apps) == [
        "`server_names` localhost: app microblog serves them on one; each name has one app."
    ]
    same_ports = settings_of(records=records, bind="127.0.0.1:7999", server_names=["hello.localhost"], **HELLO)
    assert conflicts(same_ports, "one", apps) == [
        "`bind` port 7999 (and 8000, the green gunicorn's) meets app microblog's 8000-8001 on one: set another, "
        "or leave `bind` at its default for a free pair."
    ]
    assert conflicts(settings_of(records=records, server_names=["hello.localhost"], **HELLO), "one", apps) == []
    # the app's own record, and records that do not read as one, are no other app
    assert others({"microblog": record(microblog), "../x": {}, "bad": {"roles": "web"}}, "microblog") == {}


def test_removal_takes_what_is_the_apps_alone_from_what_the_tasks_declare():
    removed = own_paths(settings_of(tls="self-signed", backup_repository="/b"))
    assert {"/srv/microblog", "/etc/microblog", "/var/lib/microblog", "/var/log/microblog", "/home/deploy"} <= set(
        removed
    )
    assert {"/etc/nginx/sites-enabled/microblog", "/etc/systemd/system/microblog-backup.timer"} <= set(removed)
    assert "/var/backups/microblog" not in removed  # the dumps go with remove_data alone
    assert "/var/backups/microblog" in own_paths(settings_of(remove_data=True))
    shared = {*SHARED, "/etc/flask-deploy", "/etc/nginx/sites-enabled/default", "/etc/mysql/mariadb.conf.d"}
    acme = own_paths(settings_of(app_name="acme", remove_data=True))  # named like the ACME webroot
    assert not shared & set(acme) and "/var/www/acme" not in acme and "/srv/acme" in acme


def test_the_servers_own_parts_must_be_set_alike_by_every_app(tmp_path):
    microblog = settings_of()
    records = on_one_host(record(microblog))
    apps = others(records["one"], "hello")
    waits_longer = settings_of(records=records, server_names=["hello.localhost"], db_lock_wait_seconds=99, **HELLO)
    assert conflicts(waits_longer, "one", apps) == [
        "MariaDB's server settings (`db_lock_wait_seconds`, the address it listens on): not as app microblog's on "
        "one, and there is one for the server: set them alike for both apps."
    ]
    # one certbot renewal timer for the server: one CA bundle for every app's certificate
    bundle = tmp_path / "ca.pem"
    bundle.write_text("a CA\n")
    acme = {"tls": "letsencrypt", "acme_email": "ops@example.org"}
    pebble = settings_of(domain="blog.example.org", acme_ca_bundle=str(bundle), **acme)
    apps = others(on_one_host(record(pebble))["one"], "hello")
    public = settings_of(records=on_one_host(record(pebble)), domain="hello.example.org", **acme, **HELLO)
    assert [problem.split(":")[0] for problem in conflicts(public, "one", apps)] == [
        "the ACME directory's CA that certbot's renewal timer trusts (`acme_ca_bundle`)"
    ]


def test_removal_leaves_a_folder_set_to_one_not_named_for_the_app():
    assert "/var/log/microblog" in own_paths(settings_of())
    shared_logs = own_paths(settings_of(log_dir="/var/log"))
    assert "/var/log" not in shared_logs and not any(path.startswith("/var/log") for path in shared_logs)
    assert "/srv/logs/microblog" in own_paths(settings_of(log_dir="/srv/logs/microblog"))
