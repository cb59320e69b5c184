"""molt's Python side: register commands that a molt host calls.

    from molt import command

    @command("summarize", idempotent=True)
    def summarize(args, ctx):
        return {"summary": args["text"][:100]}

Run a worker with ``python3 -m molt.worker --handler PATH_OR_MODULE``.
"""

from .registry import command, CommandSpec
from .context import Context

PROTOCOL_VERSION = 1

__all__ = ["command", "CommandSpec", "Context", "PROTOCOL_VERSION"]
