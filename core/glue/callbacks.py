"""pyinfra callback handlers registered from config.py (the preflight, the timings)."""

import gevent


def register(state, *handlers):
    """The preflight needs every host's data as pyinfra merged it (group data, inventory.py,
    --data). That exists once pyinfra has initialised its state, after loading config.py and
    inventory.py and before connecting; its callback handlers are set up only then, so this
    greenlet adds the handlers as soon as the state is ready, ahead of the greenlets that connect
    to the hosts."""

    def when_ready():
        while not state.initialised:
            gevent.sleep(0)
        for handler in handlers:
            state.add_callback_handler(handler)

    gevent.spawn(when_ready)
