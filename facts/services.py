"""Services the deploy keeps running and locked down: MariaDB's accounts, ufw."""

import shlex

from pyinfra.api import FactBase


class MariadbAccounts(FactBase):
    """{host: (auth plugin, sha256 of the stored password hash)} of a MariaDB user, or None
    when MariaDB does not answer. Only a digest of the hash ever leaves the server."""

    def command(self, user):
        # `user` is db_user (checked: letters, digits, _) or "" (the anonymous user)
        sql = f"SELECT Host, plugin, SHA2(authentication_string, 256) FROM mysql.user WHERE User = '{user}'"  # noqa: S608
        return f"mariadb -N -B -e {shlex.quote(sql)} 2>/dev/null || echo down"

    def process(self, output):
        if output == ["down"]:
            return None
        return {parts[0]: (parts[1], parts[2]) for parts in (line.split("\t") for line in output) if len(parts) == 3}


class MariadbDatabaseGrants(FactBase):
    """{host: {database pattern, ...}} of the databases a MariaDB user has rights on (as GRANT
    wrote them: `_` and `%` are wildcards there unless escaped), or None when MariaDB does not answer."""

    def command(self, user):
        # `user` is db_user (checked: letters, digits, _)
        sql = f"SELECT Host, Db FROM mysql.db WHERE User = '{user}'"  # noqa: S608
        return f"mariadb -N -B -r -e {shlex.quote(sql)} 2>/dev/null || echo down"  # -r: \_ as it is

    def process(self, output):
        if output == ["down"]:
            return None
        found = {}
        for at, _, database in (line.partition("\t") for line in output):
            found.setdefault(at, set()).add(database)
        return found


class UfwStatus(FactBase):
    """(active, default incoming policy, allowed rules such as "OpenSSH", "80/tcp" or
    "8000/tcp from 10.0.0.2"), or None."""

    def command(self):
        return "ufw status verbose 2>/dev/null || true"

    def process(self, output):
        if not output:
            return None
        active = any(line.strip() == "Status: active" for line in output)
        incoming = next(
            (
                line.split("Default:")[1].split("(incoming)")[0].strip()
                for line in output
                if line.startswith("Default:")
            ),
            "",
        )
        allowed = set()
        for line in output:
            if " ALLOW IN " in line and "(v6)" not in line:
                rule, source = (part.strip() for part in line.split(" ALLOW IN "))
                rule = rule.split("(")[1].rstrip(")").strip() if "(" in rule else rule
                allowed.add(rule if source.startswith("Anywhere") else f"{rule} from {source}")
        return active, incoming, allowed
