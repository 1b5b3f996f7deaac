"""What a task ensures on a host, declared by the task itself next to its @deploy (`manages(s)`,
empty on hosts it does not run on): the paths whose kind, mode, owner and link target it sets,
the files whose content it writes, the services it keeps active and enabled, and commands whose
output shows the rest (packages, accounts, grants). The converged probe is made of them all."""

from dataclasses import astuple, dataclass


@dataclass(frozen=True)
class Managed:
    paths: tuple = ()  # stat'ed: kind, mode, owner, group, link target
    files: tuple = ()  # their content (sha1sum)
    services: tuple = ()  # systemd units: active, enabled
    commands: tuple = ()  # shell commands whose output changes when the rest does

    def __add__(self, other):
        return Managed(*(mine + theirs for mine, theirs in zip(astuple(self), astuple(other), strict=True)))
