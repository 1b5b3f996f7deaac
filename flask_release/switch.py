"""The switch (blue-green): a release starts in the idle color beside the live one, answers its
health check on its own port, then `current` and nginx switch to it (a graceful reload) and
the live color drains and stops; meanwhile the live color runs half its workers. When anything
fails the live color has kept serving (its workers given back): nothing needs to go back but the
routing. Root records which color is live, and its links (in its own folder) say what each color
runs: neither the app user nor the build account can point them elsewhere."""

import os

from . import links
from .service import COLORS, other


class Switch:
    def __init__(self, runner, state, builder, service, paths):
        self.runner, self.state, self.builder, self.service, self.paths = runner, state, builder, service, paths

    @property
    def live(self):
        return self.state["live"]

    @property
    def idle(self):
        return other(self.live) if self.live else None

    @property
    def next_color(self):
        """The color the next release starts in."""
        return self.idle or COLORS[0]

    def serve(self, release):
        """`release` serves from the idle color; returns (healthy, what answered). Unhealthy, it
        is stopped again and the live color serves as before."""
        live, color = self.live, self.next_color
        holder = self.service.foreign_listener(color)
        if holder:  # whatever answers there is not the release
            return False, holder
        self.point(f"slots/{color}", release)
        if live:  # recorded first: a run interrupted before the switch gives them back (restore)
            self.state["shrunk"] = self.service.fewer_workers()
            self.state.save()
            self.service.shrink(live, self.state["shrunk"])
        self.service.start(color)
        healthy, detail = self.service.health(url=self.service.url(color), color=color)
        if healthy:
            self.point("current", release)
            self.service.route(color, release)
            if self.service.config.site_url:  # as users reach it, through this host's nginx
                healthy, detail = self.service.health()
        if not healthy:
            self.restore(stop=color)
            return False, detail
        self.state["live"], self.state["shrunk"] = color, 0
        self.state.save()
        if live and live != color:
            self.service.drain(live)
            self.service.stop(live)
        return True, detail

    def restore(self, stop=None):
        """The routing back to what root's record says serves: nginx to the live color, `current`
        to the serving release; `stop`, a color, stopped."""
        if self.live:
            self.service.route(self.live, self.state.serving)
            self.service.grow(self.live, self.state["shrunk"])
            self.state["shrunk"] = 0
            self.state.save()
        if self.state.serving:
            self.point("current", self.state.serving)
        if stop and stop != self.live:
            self.service.stop(stop)

    def start_live(self):
        """At boot: the live color, started again. (supervisor also starts this when a release
        first adds it, while that release runs: the color it then finds live is left alone.)"""
        if self.live and not self.service.running(self.live):
            self.service.start(self.live)

    def point(self, link, release):
        """Root's link (`current`, slots/<color>) points at the release, atomically."""
        target = f"releases/{release}" if link == "current" else f"../releases/{release}"
        os.makedirs(self.paths.slots, mode=0o755, exist_ok=True)
        links.point(f"{self.paths.app_dir}/{link}", target)
