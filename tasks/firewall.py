import shlex

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import server

from core.plan.managed import Managed
from core.settings.resolved import settings
from facts.services import UfwStatus


def allowed_traffic(s):
    """What a host lets in: SSH always; HTTP(S) on web hosts; gunicorn's port from the web hosts
    and MariaDB's from the app hosts, when those are other hosts."""
    roles, name = s.roles, s.name
    rules = ["OpenSSH"] + ([f"{s.ssh_port}/tcp"] if s.ssh_port != 22 else [])
    if s.is_web:
        rules += ["80/tcp", "443/tcp"]
    if s.is_app and roles.serves_other_hosts(name):
        ports = f"{s.gunicorn_ports[0]}:{s.gunicorn_ports[1]}"  # blue's and green's
        rules += [f"{ports}/tcp from {roles.address(web)}" for web in roles.web if web != name]
    if s.is_db and roles.db_shared:
        rules += [f"{s.db_port}/tcp from {roles.address(app)}" for app in roles.app if app != name]
    return rules


def ufw_allow(rule):
    port, _, source = rule.partition(" from ")
    if not source:
        return f"ufw allow {shlex.quote(port)}"
    number, _, protocol = port.partition("/")
    return (
        f"ufw allow from {shlex.quote(source)} to any port {shlex.quote(number)} proto {shlex.quote(protocol or 'tcp')}"
    )


@deploy("Firewall")
def firewall():
    """Ensures ufw (installed with the system packages) denies incoming traffic except what the
    host's roles need (see allowed_traffic), when `firewall` is on. SSH is allowed before ufw is
    enabled, and ufw keeps established connections, so the deploy's own session is never cut."""
    s = settings()
    if not s.firewall:
        return
    rules = allowed_traffic(s)
    status = host.get_fact(UfwStatus)
    if status and status[0] and status[1].startswith("deny") and set(rules) <= status[2]:
        return
    server.shell(
        name=f"ufw: deny incoming, allow {', '.join(rules)}",
        commands=[
            *(ufw_allow(rule) for rule in rules),
            "ufw default deny incoming",
            "ufw default allow outgoing",
            "ufw --force enable",
        ],
    )


def manages(s):
    if not s.firewall:
        return Managed()
    # ufw's own record of its rules, policies and whether it is on (`ufw status` reads these)
    return Managed(commands=("cat /etc/ufw/ufw.conf /etc/default/ufw /etc/ufw/user.rules /etc/ufw/user6.rules",))
