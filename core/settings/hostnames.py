"""Host names and addresses: what may name the site, and what a public CA can validate."""

import ipaddress
import re

DNS_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# Names that never resolve on the public internet, so no public CA can validate them.
NOT_PUBLIC_SUFFIXES = ("localhost", "local", "localdomain", "internal", "test", "invalid", "example", "lan", "home")


def is_ip(name):
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def is_dns_name(name):
    labels = name.lower().rstrip(".").split(".")
    return 0 < len(name) <= 253 and all(DNS_LABEL.match(label) for label in labels)


def is_public_dns_name(name):
    labels = name.lower().rstrip(".").split(".")
    return (
        not is_ip(name)
        and is_dns_name(name)
        and len(labels) >= 2
        and labels[-1] not in NOT_PUBLIC_SUFFIXES
        and not labels[-1].isdigit()
    )


def server_names(data):
    """The site's host names: `server_names` as a list, or one string of names separated by
    commas or spaces (as --data gives it), else domain and www.domain."""
    names = data.get("server_names")
    if isinstance(names, str):
        names = names.replace(",", " ").split()
    domain = str(data.get("domain") or "")
    return tuple(str(name) for name in names) if names else (domain, f"www.{domain}")
