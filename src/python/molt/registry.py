"""The table of commands a worker serves, filled by the @command decorator."""

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict

BUILTIN_NAMES = ("ping", "health", "describe", "execute_program", "shutdown")


@dataclass(frozen=True)
class CommandSpec:
    """A registered command: its name, its function and whether a retry is safe."""

    name: str
    fn: Callable[[Any, Any], Any]
    idempotent: bool = False
    builtin: bool = False
    # Run on the handler threads (when there are any) rather than inline on the reading thread.
    threaded: bool = True
    # An ``async def``: runs as a task on the worker's event loop.
    is_async: bool = field(init=False)
    # A generator function: its items are streamed (or collected into a list for a plain call).
    is_gen: bool = field(init=False)
    # An ``async def`` that yields: streamed from the event loop.
    is_async_gen: bool = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "is_async", inspect.iscoroutinefunction(self.fn))
        object.__setattr__(self, "is_gen", inspect.isgeneratorfunction(self.fn))
        object.__setattr__(self, "is_async_gen", inspect.isasyncgenfunction(self.fn))

    @property
    def on_loop(self):
        """Whether the command runs on the event loop (async, or an async generator)."""
        return self.is_async or self.is_async_gen


_commands: Dict[str, CommandSpec] = {}


def command(name: str, idempotent: bool = False):
    """Register ``fn(args, ctx)`` as the command ``name``.

    ``fn`` may be ``async def``: it then runs on the worker's asyncio loop,
    up to ``--concurrency`` calls at once, and a cancelled call raises
    ``asyncio.CancelledError`` at its next ``await``. ``fn`` may yield
    (a generator, sync or async): the host's ``stream()`` gets each item as
    it is yielded; a plain call gets them all as a list.

    ``idempotent=True`` tells the host that running the command twice is
    harmless, so a call may be retried after an infrastructure failure.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"molt.command: name must be a non-empty string, received {name!r}")
    if not isinstance(idempotent, bool):
        raise ValueError(f"molt.command {name!r}: idempotent must be a boolean, received {idempotent!r}")

    def register(fn):
        if not callable(fn):
            raise ValueError(f"molt.command {name!r}: expected a function, received {fn!r}")
        if name in _commands:
            kind = "built in" if _commands[name].builtin else "already registered"
            raise ValueError(f"molt.command {name!r}: a command of that name is {kind}")
        _commands[name] = CommandSpec(name, fn, idempotent)
        return fn

    return register


def register_builtin(name: str, fn, idempotent: bool, threaded: bool = False) -> None:
    _commands[name] = CommandSpec(name, fn, idempotent, builtin=True, threaded=threaded)


def lookup(name: str):
    return _commands.get(name)


def all_commands():
    return list(_commands.values())
