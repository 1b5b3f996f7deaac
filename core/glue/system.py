"""Which Debian a host runs, read from the host: what differs between releases (package names,
config syntax) is chosen from it, never guessed; anything else is refused before any change."""

from pyinfra.api.exceptions import PyinfraError

from facts.host import System

SUPPORTED = {12: "bookworm", 13: "trixie"}
PYTHON = {12: "3.11", 13: "3.13"}  # each release's python3, for a host that has none installed yet


def debian_release(target):
    """(Debian major version, CPU cores, python3's version) of `target`; a PyinfraError naming what
    it runs when that is not a supported Debian."""
    system = target.get_fact(System)
    version = system["version"] or ""
    if system["id"] != "debian" or not version.isdigit() or int(version) not in SUPPORTED:
        supported = " and ".join(f"Debian {major} ({name})" for major, name in SUPPORTED.items())
        raise PyinfraError(
            f"{target.name} runs {system['name']}: this deploy supports {supported} only. Nothing was changed."
        )
    return int(version), system["cores"], system["python"] or PYTHON[int(version)]
