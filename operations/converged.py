"""The record a deploy that ended well leaves for the next one (core/plan/converged.py)."""

from pyinfra import host
from pyinfra.api import StringCommand, operation

from facts.host import HostState


@operation()
def recorded(command: str, desired: str, probe: str, clock: str, path: str, state_file: str):
    """Ensures `path` holds the desired state's digest and the probe's, as they are now."""
    now = host.get_fact(
        HostState, probe=probe, clock=clock, state_file=state_file, converged_file=path, certificates=[]
    )
    if now["converged"] != f"{desired} {now['probe']}":
        yield StringCommand(command)
