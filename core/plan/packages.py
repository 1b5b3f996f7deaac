"""The Debian packages each role needs."""

# The article's packages, by the role that uses them, and what the other tasks use on every server.
# Installed without their recommends, so what a server needs is named here.
PACKAGES = {
    # python3 runs the release program (its health check on web hosts too), which counts a
    # color's workers with pgrep (procps); iproute2 (ss) for whoever looks at the sockets;
    # ca-certificates lets git, pip and curl check the certificates of https hosts
    "any": ["sudo", "curl", "ca-certificates", "logrotate", "python3", "iproute2", "procps"],
    "web": ["nginx"],
    # The app's venv and C extensions pip may build; git's ssh for a `repo` of user@host:path;
    # MariaDB's client for the release's backups; setfacl, which opens each release to its app
    # user (and nginx) alone.
    "app": [
        "acl",
        "python3-venv",
        "python3-dev",
        "build-essential",
        "supervisor",
        "git",
        "openssh-client",
        "default-mysql-client",
    ],
    "db": ["default-mysql-server"],
}


def packages_for(roles, firewall, tls, offsite=False):
    """Every package a host with these roles needs with these settings: one apt transaction."""
    packages = PACKAGES["any"] + [
        package for role in ("web", "app", "db") if role in roles for package in PACKAGES[role]
    ]
    packages += (["ufw"] if firewall else []) + (["certbot"] if "web" in roles and tls == "letsencrypt" else [])
    return packages + (["restic"] if offsite else [])  # the host whose dumps go off-site
