"""What a handler learns about the call it serves."""

import contextvars
import logging
import time

_logger = logging.getLogger("molt.handler")
_current = contextvars.ContextVar("molt_context")


class Context:
    """Per-call context: request id, session, deadline, cancellation and a logger.

    ``deadline`` is a ``time.monotonic()`` value or ``None``; ``remaining()``
    gives the seconds left before the host stops waiting. ``cancelled``
    becomes true when the host cancels the call (its caller aborted) or its
    deadline passes: a long synchronous handler checks it between steps.
    """

    __slots__ = ("request_id", "session", "deadline", "command", "_cancelled")

    def __init__(self, request_id, command, session=None, deadline=None):
        self.request_id = request_id
        self.command = command
        self.session = session
        self.deadline = deadline
        self._cancelled = False

    @property
    def logger(self):
        return _logger

    @property
    def cancelled(self):
        """True once the host cancelled the call or its deadline passed."""
        return self._cancelled or (self.deadline is not None and time.monotonic() > self.deadline)

    def remaining(self):
        """Seconds until the deadline (may be negative), or None without one."""
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()


def current_context():
    """The Context of the call being served here (thread or asyncio task), or None outside a call.

    Code deep inside a handler reaches its call's context without passing ``ctx`` along::

        from molt import current_context

        def log_progress(step):
            current_context().logger.info("step %s", step)
    """
    return _current.get(None)


def enter(ctx):
    """Make ``ctx`` the current context of this asyncio task (each task has its own; nothing to restore)."""
    _current.set(ctx)


def run_in(ctx, fn, *args):
    """Call ``fn(*args)`` with ``ctx`` as the current context, restoring the previous one after."""
    token = _current.set(ctx)
    try:
        return fn(*args)
    finally:
        _current.reset(token)
