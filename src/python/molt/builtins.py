"""The commands every worker serves: ping, health, describe, execute_program, shutdown."""

import os
import sys
import time

from . import inject
from .programs import Programs
from .registry import all_commands, register_builtin


class Counters:
    """What the worker has served, for ``health``."""

    def __init__(self):
        self.started = time.monotonic()
        self.served = 0
        self.failed = 0
        # Cancel frames received, and calls answered Cancelled.
        self.cancels = 0
        self.cancelled = 0
        # The shared rings, whose pages are molt's and not the handler's memory (None: no rings).
        self.rings = None


def rss_bytes():
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def install(counters, handler_name):
    programs = Programs()

    def ping(args, ctx):
        return "pong"

    def health(args, ctx):
        return {
            "pid": os.getpid(),
            # Without the rings: their pages join the RSS once, as bytes first reach them, and would
            # read as growth to a judge of memory (up to twice sharedMemoryBytes).
            "rss_bytes": rss_bytes() - (0 if counters.rings is None else counters.rings.resident_bytes()),
            "uptime_s": round(time.monotonic() - counters.started, 3),
            "served": counters.served,
            "failed": counters.failed,
            "cancelled": counters.cancelled,
        }

    def describe(args, ctx):
        return {
            "handler": handler_name,
            "python": sys.version.split()[0],
            "commands": [
                {"name": c.name, "idempotent": c.idempotent, "builtin": c.builtin, "async": c.is_async}
                for c in all_commands()
            ],
            "programs": programs.describe(),
        }

    register_builtin("ping", ping, True)
    register_builtin("health", health, True)
    register_builtin("describe", describe, True)
    # Whether a program may run twice is the caller's to say (the host's `idempotent`).
    register_builtin("execute_program", programs.execute, False, threaded=True)
    inject.install()
    # shutdown is answered by the serving loop itself, which owns the exit.
    register_builtin("shutdown", None, False)
