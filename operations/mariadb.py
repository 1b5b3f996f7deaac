"""MariaDB accounts, with no password in any command line: the statements reach `mariadb` on its
standard input, and the password as MariaDB's own hash of it."""

import hashlib

from pyinfra import host
from pyinfra.api import StringCommand, operation

from facts.services import MariadbAccounts, MariadbDatabaseGrants


def _quote(value):
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def grant_pattern(database):
    """The database's name as a GRANT takes it literally: its `_` and `%` are wildcards there."""
    return database.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


@operation()
def account(user: str, hosts: list, password_hash: str):
    """Ensures the MariaDB user exists at each of `hosts` (and nowhere else) with the password of
    `password_hash` (mysql_native_password). `hosts` empty: the user exists nowhere."""
    accounts = host.get_fact(MariadbAccounts, user=user)
    if accounts is None:
        accounts = {}  # MariaDB is only starting: the statements below are safe to repeat
    wanted = ("mysql_native_password", hashlib.sha256(password_hash.encode()).hexdigest())
    statements = [f"DROP USER {_quote(user)}@{_quote(at)};" for at in sorted(set(accounts) - set(hosts))]
    for at in hosts:
        if at not in accounts:
            statements.append(
                f"CREATE USER {_quote(user)}@{_quote(at)} IDENTIFIED BY PASSWORD {_quote(password_hash)};"
            )
        elif accounts[at] != wanted:
            statements.append(f"ALTER USER {_quote(user)}@{_quote(at)} IDENTIFIED BY PASSWORD {_quote(password_hash)};")
    if statements:
        yield StringCommand("mariadb", _stdin="\n".join(statements))


@operation()
def no_other_databases(user: str, hosts: list, database: str):
    """Ensures the MariaDB user, at each of `hosts`, has rights on no database pattern but
    grant_pattern(`database`): an earlier grant whose `_` matched other databases is revoked."""
    found = host.get_fact(MariadbDatabaseGrants, user=user) or {}
    wanted = grant_pattern(database)
    statements = [
        f"REVOKE ALL PRIVILEGES ON `{pattern.replace('`', '``')}`.* FROM {_quote(user)}@{_quote(at)};"
        for at in hosts
        for pattern in sorted(found.get(at, ()))
        if pattern != wanted
    ]
    if statements:
        yield StringCommand("mariadb", _stdin="\n".join(statements))
