"""The converged probe is made of what each task declares it ensures (`manages`), so a task that
gains a file gains it in the probe: every task that leaves something on a host declares it, and
the probe reads every path, file, service and command of every declaration."""

import importlib
import pkgutil
import shlex

import tasks
from core.plan import converged
from tests.helpers import SPREAD, settings_of

# the tasks that leave nothing of their own: they ship commits, run the release program, check, or remove an app
RUNNING = {"git_latest_tag", "release", "rollback", "health", "removal"}


def task_modules():
    return {info.name: importlib.import_module(f"tasks.{info.name}") for info in pkgutil.iter_modules(tasks.__path__)}


def test_every_task_but_those_that_only_run_declares_what_it_manages():
    modules = task_modules()
    assert {name for name, module in modules.items() if not hasattr(module, "manages")} == RUNNING


def test_the_probe_reads_every_declaration_of_every_host():
    modules = [module for module in task_modules().values() if hasattr(module, "manages")]
    hosts = [
        settings_of(tls="letsencrypt", acme_email="ops@example.org", domain="blog.example.org", backup_repository="/b"),
        *(settings_of(name, SPREAD) for name in ("web", "app1", "app2", "db")),
    ]
    for s in hosts:
        probe = converged.probe(s)
        for module in modules:
            declared = module.manages(s)
            for path in (*declared.paths, *declared.files):
                assert shlex.quote(path) in probe, (s.name, module.__name__, path)
            for service in declared.services:
                assert f" {service}" in probe
            for command in declared.commands:
                assert command in probe
