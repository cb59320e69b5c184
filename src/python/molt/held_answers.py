"""Answers held back while the reading thread runs a call inline.

A worker without handler threads (``--threads 1``) runs each call on the
thread that reads, and answers the calls of one read in one write at its
end: one write per read instead of one per call. A call that runs long must
not hold back the answers of the calls before it in the same read (a fast
call waiting for the 5 s call behind it, past its own deadline). So while
a call runs inline with answers unsent, a watchdog thread sends them once
that call has run for ``HOLD_S`` (it looks every ``HOLD_S``); a call that
ends sooner leaves them to the read's one write.

The reading thread pays a clock read, a list append and a list pop per
call (0.31 us in a loop here, against 0.74 us for a lock and a condition),
and takes no lock unless the watchdog took its answers.
"""

import threading
import time

# Long enough that a busy worker's calls of microseconds still share one write; short against any deadline.
HOLD_S = 0.002
# With nothing held for this long the watchdog sleeps until something is.
IDLE_AFTER_S = 0.1


class HeldAnswers:
    """What the reading thread holds while it runs a call inline, sent by a watchdog if that call runs long."""

    def __init__(self, send, hold_s=HOLD_S, idle_after_s=IDLE_AFTER_S):
        # send(frames) writes frames (Writer.send: safe from any thread).
        self._send = send
        self._hold_s = hold_s
        self._idle_ticks = max(1, round(idle_after_s / hold_s))
        # The held answers' list while a call runs inline, else empty: one pop of it, by the reading thread
        # or the watchdog, decides whose it is (a list's pop is atomic under the GIL).
        self._slot = []
        self._since = 0.0
        # Held by the watchdog while it empties a list it took and sends what it held.
        self._taking = threading.Lock()
        self._wake = threading.Event()
        self._idle = True
        self._thread = None

    def hold(self, out):
        """The reading thread starts a call inline while the answers in ``out`` are unsent; it leaves ``out`` alone until ``release``."""
        self._since = time.monotonic()
        self._slot.append(out)
        if self._idle:
            if self._thread is None:
                self._start()
            else:
                self._wake.set()

    def release(self):
        """The call is over: ``out`` is the reading thread's again (empty, if the watchdog sent what it held)."""
        try:
            self._slot.pop()
        except IndexError:
            # The watchdog took it: it has emptied it and sent what it held once it lets go of the lock.
            with self._taking:
                pass

    def _start(self):
        # Started on the first answer held: a worker that is never sent calls together has no watchdog.
        thread = threading.Thread(target=self._watch, name="molt-held-answers", daemon=True)
        self._idle = False
        try:
            thread.start()
        except RuntimeError:
            # No thread to be had (a process at its limit): the answers wait for the read's write, as they
            # did before there was a watchdog, and the next hold tries again.
            self._idle = True
            return
        self._thread = thread

    def _watch(self):
        quiet = 0
        while True:
            if not self._slot:
                quiet += 1
                if quiet >= self._idle_ticks:
                    self._idle = True
                    # Looked at again after saying so: hold() appends, then looks at _idle.
                    if not self._slot:
                        self._wake.wait()
                    self._wake.clear()
                    self._idle = False
                    quiet = 0
                    continue
            else:
                quiet = 0
                if time.monotonic() - self._since >= self._hold_s:
                    self._take()
                    continue
            time.sleep(self._hold_s)

    def _take(self):
        # Sent before the lock is let go: a release() that finds its answers taken waits for them to be
        # on their way, so nothing the reading thread sends after can overtake them.
        with self._taking:
            try:
                out = self._slot.pop()
            except IndexError:
                # The call ended in between: the reading thread sends them.
                return
            frames = out[:]
            out.clear()
            try:
                self._send(frames)
            except OSError:
                # The host has gone: the reading thread sees the end of its input and the worker exits.
                pass
