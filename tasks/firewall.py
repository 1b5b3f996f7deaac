import shlex

from pyinfra import host
from pyinfra.api import FactBase, deploy
from pyinfra.operations import server


class UfwStatus(FactBase):
    """(active, default incoming policy, allowed rules such as "OpenSSH" or "80/tcp"), or None."""

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
                rule = line.split(" ALLOW IN ")[0].strip()
                allowed.add(rule.split("(")[1].rstrip(")").strip() if "(" in rule else rule)
        return active, incoming, allowed


@deploy("Firewall")
def firewall():
    """Ensures ufw (installed with the system packages) denies incoming traffic except SSH
    (OpenSSH, and the port this deploy connects to), HTTP and HTTPS, when `firewall` is on. SSH is
    allowed before ufw is enabled, and ufw keeps established connections, so the deploy's own
    session is never cut."""
    if not host.data.get("firewall"):
        return
    rules = ["OpenSSH", "80/tcp", "443/tcp"]
    ssh_port = host.data.get("ssh_port") or 22
    if ssh_port != 22:
        rules.append(f"{ssh_port}/tcp")
    status = host.get_fact(UfwStatus)
    if status and status[0] and status[1].startswith("deny") and set(rules) <= status[2]:
        return
    server.shell(name=f"ufw: deny incoming, allow {', '.join(rules)}", commands=[
        *(f"ufw allow {shlex.quote(rule)}" for rule in rules),
        "ufw default deny incoming",
        "ufw default allow outgoing",
        "ufw --force enable",
    ])
