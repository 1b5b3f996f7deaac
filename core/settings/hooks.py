"""The hook settings (`hooks_before_migrate`, `hooks_after_switch`): a list of commands, or one,
each split as a shell would (no shell runs them: the release program runs each argv)."""

import shlex

STAGES = ("hooks_before_migrate", "hooks_after_switch")


def hook_commands(value):
    """((argv), ...) of a hook setting: one command (a string) or a list of them."""
    if not value:
        return ()
    commands = [value] if isinstance(value, str) else list(value)
    return tuple(tuple(shlex.split(command)) for command in commands)
