import shlex

from pyinfra import host
from pyinfra.api import FactBase, deploy
from pyinfra.operations import server

from tasks.common import settings
from tasks.layout import DB_PORT, layout


class UfwStatus(FactBase):
    """(active, default incoming policy, allowed rules such as "OpenSSH", "80/tcp" or
    "8000/tcp from 10.0.0.2"), or None."""

    def command(self):
        return "ufw status verbose 2>/dev/null || true"

    def process(self, output):
        if not output:
            return None
        active = any(line.strip() == "Status: active" for line in output)
        incoming = next((line.split("Default:")[1].split("(incoming)")[0].strip() for line in output
                         if line.startswith("Default:")), None)
        allowed = set()
        for line in output:
            if " ALLOW IN " in line and "(v6)" not in line:
                rule, source = (part.strip() for part in line.split(" ALLOW IN "))
                rule = rule.split("(")[1].rstrip(")").strip() if "(" in rule else rule
                allowed.add(rule if source.startswith("Anywhere") else f"{rule} from {source}")
        return active, incoming, allowed


def allowed_traffic():
    """What the current host lets in: SSH always; HTTP(S) on web hosts; gunicorn's port from the
    web hosts and MariaDB's from the app hosts, when those are other hosts."""
    current, name = layout(), host.name
    rules = ["OpenSSH"]
    ssh_port = host.data.get("ssh_port") or 22
    if ssh_port != 22:
        rules.append(f"{ssh_port}/tcp")
    if name in current.web:
        rules += ["80/tcp", "443/tcp"]
    if name in current.app and current.serves_other_hosts(name):
        port = settings().bind.rsplit(":", 1)[1]
        rules += [f"{port}/tcp from {current.address(web)}" for web in current.web if web != name]
    if name == current.db and current.db_shared:
        rules += [f"{DB_PORT}/tcp from {current.address(app)}" for app in current.app if app != name]
    return rules


def ufw_allow(rule):
    port, _, source = rule.partition(" from ")
    if not source:
        return f"ufw allow {shlex.quote(port)}"
    number, _, protocol = port.partition("/")
    return (f"ufw allow from {shlex.quote(source)} to any port {shlex.quote(number)}"
            f" proto {shlex.quote(protocol or 'tcp')}")


@deploy("Firewall")
def firewall():
    """Ensures ufw (installed with the system packages) denies incoming traffic except what the
    host's roles need (see allowed_traffic), when `firewall` is on. SSH is allowed before ufw is
    enabled, and ufw keeps established connections, so the deploy's own session is never cut."""
    if not host.data.get("firewall"):
        return
    rules = allowed_traffic()
    status = host.get_fact(UfwStatus)
    if status and status[0] and status[1].startswith("deny") and set(rules) <= status[2]:
        return
    server.shell(name=f"ufw: deny incoming, allow {', '.join(rules)}", commands=[
        *(ufw_allow(rule) for rule in rules),
        "ufw default deny incoming",
        "ufw default allow outgoing",
        "ufw --force enable",
    ])
