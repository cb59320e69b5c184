"""What a handler learns about the call it serves."""

import logging
import time

_logger = logging.getLogger("molt.handler")


class Context:
    """Per-call context: request id, session, deadline and a logger.

    ``deadline`` is a ``time.monotonic()`` value or ``None``; ``remaining()``
    gives the seconds left before the host stops waiting.
    """

    __slots__ = ("request_id", "session", "deadline", "command")

    def __init__(self, request_id, command, session=None, deadline=None):
        self.request_id = request_id
        self.command = command
        self.session = session
        self.deadline = deadline

    @property
    def logger(self):
        return _logger

    def remaining(self):
        """Seconds until the deadline (may be negative), or None without one."""
        if self.deadline is None:
            return None
        return self.deadline - time.monotonic()
