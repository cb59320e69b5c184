"""The table of commands a worker serves, filled by the @command decorator."""

from dataclasses import dataclass
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


_commands: Dict[str, CommandSpec] = {}


def command(name: str, idempotent: bool = False):
    """Register ``fn(args, ctx)`` as the command ``name``.

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
