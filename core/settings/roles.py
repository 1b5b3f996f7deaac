"""Which hosts hold the roles web (nginx, TLS), app (gunicorn, releases, migrations) and db
(MariaDB), and the private addresses they reach each other at.

The roles are the inventory groups `web`, `app` and `db`. An inventory without them makes every
host a whole stack of its own. Traffic that stays on one host uses the loopback address."""

from dataclasses import dataclass

from pyinfra import host, inventory

ROLES = ("web", "app", "db")
DB_PORT = 3306


@dataclass(frozen=True)
class Roles:
    web: tuple  # names of the web hosts, in inventory order
    app: tuple  # names of the app hosts; the first runs the migrations
    db: str | None  # name of the database host; None with an external database (setting db_host)
    addresses: tuple  # (name, private address) of every host

    def address(self, name):
        return dict(self.addresses)[name]

    @property
    def hosts(self):
        return tuple(dict.fromkeys(name for name in (*self.web, *self.app, self.db) if name))

    @property
    def migrating_host(self):
        return self.app[0]

    def of(self, name):
        """The roles of host `name`."""
        return {role for role, names in (("web", self.web), ("app", self.app), ("db", (self.db,))) if name in names}

    def serves_other_hosts(self, name):
        """Whether nginx of other hosts reaches the gunicorn of app host `name`."""
        return self.web != (name,)

    def gunicorn_host(self, name, bind):
        """Where gunicorn of app host `name` listens: `bind`'s host (loopback) when its one web host
        is itself, else its private address."""
        return bind.rsplit(":", 1)[0] if not self.serves_other_hosts(name) else self.address(name)

    def upstream(self, bind):
        """(app host, the addresses of its blue and green gunicorn) of every app host."""
        port = int(bind.rsplit(":", 1)[1])
        return tuple(
            (name, tuple(f"{self.gunicorn_host(name, bind)}:{port + color}" for color in (0, 1))) for name in self.app
        )

    @property
    def db_shared(self):
        """Whether app hosts other than the db host connect to MariaDB, over the private network."""
        return self.app != (self.db,)

    @property
    def db_address(self):
        return self.address(self.db) if self.db_shared else "127.0.0.1"

    @property
    def db_clients(self):
        """Hosts MariaDB grants the app user from."""
        return tuple(self.address(name) for name in self.app) if self.db_shared else ("localhost",)

    def serves_static_itself(self, name):
        """Whether the web host `name` holds the one app release, so nginx serves /static from disk."""
        return self.app == (name,)


def private_address(data, name):
    return data.get("private_address") or data.get("ssh_hostname") or name


def layouts(hosts):
    """[{role: (names)}] of the layouts `hosts` (an inventory) makes, each deployed as one: the
    groups web, app and db, or, in an inventory without them, every host a whole stack of its own.
    With an external database (setting `db_host`), no host holds the db role, whatever the db group
    says. Preflight, the deploy and the day-two commands read the roles from here alone."""
    groups = {role: tuple(member.name for member in hosts.get_group(role, [])) for role in ROLES}
    external = any(member.data.get("db_host") for member in hosts)
    if not any(groups.values()):
        return [
            {"web": (member.name,), "app": (member.name,), "db": () if member.data.get("db_host") else (member.name,)}
            for member in hosts
        ]
    return [{**groups, "db": () if external else groups["db"]}]


def members(layout):
    """The names of a layout's hosts, once each, web hosts first."""
    return tuple(dict.fromkeys(name for role in ROLES for name in layout[role]))


def roles():
    """The roles of the layout the current host belongs to."""
    layout = next(found for found in layouts(inventory) if host.name in members(found))
    names = members(layout)
    # traffic that stays on one host uses the loopback address
    addresses = (
        {host.name: "127.0.0.1"}
        if len(names) == 1
        else {name: private_address(host_named(name).data, name) for name in names}
    )
    return Roles(
        web=layout["web"],
        app=layout["app"],
        db=layout["db"][0] if layout["db"] else None,
        addresses=tuple(addresses.items()),
    )


def host_named(name):
    """The host called `name`: the current one, or another of the inventory."""
    return host if name == host.name else inventory.get_host(name)
