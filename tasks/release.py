from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import systemd

from core.plan.source import plan
from core.plan.tls import certificate_for
from core.settings.environment import OPERATOR
from core.settings.resolved import settings
from core.settings.roles import host_named
from operations.nginx import site
from operations.release import breaking_migrations, on_hosts, run_program
from tasks.nginx import site_config, site_paths

BY = ["--by", OPERATOR]


def target_arguments(release):
    """How the release program is to find what to deploy."""
    arguments = ["--fetch"] if release.fetch else []
    if release.target:
        arguments += ["--ref", release.target.ref, "--commit", release.target.commit]
    return arguments


def rolling(s, hosts, action, arguments):
    """Runs the program with `arguments` on the app hosts, `rolling_batch_size` at a time, each
    batch taken out of nginx meanwhile (a batch of every app host stays in: nginx needs one)."""
    size = s.rolling_batch_size
    available, enabled = site_paths(s)
    for batch in host.loop([hosts[index : index + size] for index in range(0, len(hosts), size)]):
        out = batch if len(batch) < len(s.roles.app) else []
        if s.is_web:
            taken_out = site(
                name=f"Take {', '.join(batch)} out of nginx",
                available=available,
                enabled=enabled,
                src=site_config(s, certificate_for(s.tls, s), down=out),
            )
            systemd.service(name="Reload nginx", service="nginx", reloaded=True, _if=taken_out.did_change)
        on_hosts(
            name=f"{action} {', '.join(batch)}", hosts=batch, program=s.paths.program, arguments=arguments, report=True
        )
        if s.is_web:
            put_back = site(
                name=f"Put {', '.join(batch)} back into nginx",
                available=available,
                enabled=enabled,
                src=site_config(s, certificate_for(s.tls, s)),
            )
            systemd.service(name="Reload nginx", service="nginx", reloaded=True, _if=put_back.did_change)


@deploy("Release")
def release_app():
    """Ensures every app host runs the release to deploy. With one app host, its release program
    builds the release beside the serving one, backs the database up, migrates, switches `current`,
    reloads gunicorn gracefully and checks its health; a failed step brings the serving release
    and schema back. With several, a rolling update: every app host builds, the first migrates,
    then `rolling_batch_size` hosts at a time are taken out of nginx, switched, checked and put
    back. Every host of the layout calls it, so that its steps line up."""
    s = settings()
    plans = {name: plan(host_named(name)) for name in s.roles.app}
    changed = [name for name, release in plans.items() if release.changed]
    if not changed:
        return
    first = plans[changed[0]]
    change = f"{first.serving} -> {first.wanted}" if first.serving else f"{first.wanted} (the first)"
    arguments = target_arguments(plans[host.name]) if s.is_app else []
    one_go = len(s.roles.app) == 1  # one app host: build, migrate and switch in one transaction
    # web hosts the app host's own release program cannot put in maintenance around a migration
    # that is not backward compatible: the deploy does, once the build has told (a first release
    # has no users to keep out)
    other_webs = [name for name in s.roles.web if not one_go or name != s.roles.migrating_host] if first.serving else []
    if not one_go or other_webs:
        on_hosts(
            name=f"Build {first.wanted} on {', '.join(s.roles.app)}",
            hosts=list(s.roles.app),
            program=s.paths.program,
            arguments=[*BY, "build", *arguments],
        )
        if other_webs:
            into_maintenance = maintenance(
                s, other_webs, "on", _if=breaking_migrations(host_named(s.roles.migrating_host), s.paths.program)
            )
    if one_go:
        if s.is_app:
            run_program(
                name=f"Release {change}",
                program=s.paths.program,
                arguments=[*BY, "deploy", *arguments],
                target=plans[host.name].target,
                pip_key=s.pip_key,
                report=True,
            )
    else:
        on_hosts(
            name=f"Migrate the database once, on {s.roles.migrating_host}",
            hosts=[s.roles.migrating_host],
            program=s.paths.program,
            arguments=[*BY, "migrate"],
        )
        rolling(s, changed, f"Switch to {first.wanted}:", [*BY, "switch"])
    if other_webs:
        maintenance(s, other_webs, "off", _if=into_maintenance.did_change)


def maintenance(s, webs, mode, _if):
    """The web hosts `webs` in maintenance (`mode` on) or live (off) around a migration that is not
    backward compatible, when the release built has one (maintenance_for_breaking_migrations: the
    build tells none otherwise)."""
    return on_hosts(
        name=f"Site {'in maintenance' if mode == 'on' else 'live again'} on {', '.join(webs)}: a migration "
        "is not backward compatible",
        hosts=webs,
        program=s.paths.program,
        arguments=["maintenance", mode],
        _if=_if,
    )
