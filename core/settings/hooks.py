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


def hook_problems(data, need):
    for setting in STAGES:
        value = data.get(setting)
        try:
            ok = all(isinstance(command, str) for command in ([value] if isinstance(value, str) else value or ()))
            ok = ok and all(hook_commands(value))
        except (TypeError, ValueError):
            ok = False
        need(
            ok,
            setting,
            'must be a list of commands, e.g. ("flask translate compile",), each a string with its quotes closed.',
        )
