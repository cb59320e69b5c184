"""molt's Python side: register commands that a molt host calls.

    from molt import command

    @command("summarize", idempotent=True)
    def summarize(args, ctx):
        return {"summary": args["text"][:100]}

    @command("ask")
    async def ask(args, ctx):
        return await some_llm_client.complete(args["question"])

Run a worker with ``python3 -m molt.worker --handler PATH_OR_MODULE``.
"""

from .registry import command, CommandSpec
from .context import Context, current_context

PROTOCOL_VERSION = 1
# Minor 1: cancel frames from the host, async handlers (the hello says "minor" and "concurrency").
# Minor 2: streamed calls ("window" in the request; chunk, end and credit frames).
# Minor 3: bytes as binary attachments, raw frames after the JSON frame that names them
# ("attachments" and {"$molt.bytes": i} placeholders); sent to a host that says --host-minor 3.
PROTOCOL_MINOR = 3

__all__ = ["command", "CommandSpec", "Context", "current_context", "PROTOCOL_VERSION", "PROTOCOL_MINOR"]
