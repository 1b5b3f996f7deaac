"""Answers worked out once per host and run. pyinfra plans the hosts side by side (gevent), and
each asks for the others' (a web host for the app hosts' releases): a second asker waits for the
first's answer instead of asking the server again."""

import functools
from collections import defaultdict

from gevent.lock import BoundedSemaphore


def once_per_host(function):
    """`function(target_host)`, remembered by the host's name."""
    answers, asking = {}, defaultdict(BoundedSemaphore)

    @functools.wraps(function)
    def wrapper(target_host):
        with asking[target_host.name]:
            if target_host.name not in answers:
                answers[target_host.name] = function(target_host)
        return answers[target_host.name]

    return wrapper
