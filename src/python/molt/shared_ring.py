"""The worker's side of the shared rings (src/worker/shared-ring.ts has the layout and the rule).

An attachment announced as ``-n`` is the next n bytes of a ring: the host's ring for a request,
the worker's for a result. Both sides place a piece at the same position by the same rule, and
take pieces in the order of the frames that announce them.
"""

import fcntl
import mmap
import os
import struct
import threading
import time

_HEADER_BYTES = 64
_TO_WORKER_READ = 0
_FROM_WORKER_READ = 8
# Bytes 16-23: written by the worker, checked by the host before it writes anything (memory of the
# right size with these bytes and byte 24 still 0 is the rings); byte 24: 1 once the host has mapped them.
_MAGIC = 16
MAGIC = b"molt-rng"
_HOST_MAPPED = 24
_POSITION = struct.Struct("<Q")
# Attachments shorter than this go through the pipe (the host's SHARED_FROM_BYTES).
SHARED_FROM_BYTES = 64 * 1024
# How long the writer sleeps between looks at how far the host has read, when its ring is full.
_ROOM_POLL_S = 0.0002


def placed(at, length, capacity):
    """Where the next piece of ``length`` bytes starts from position ``at``."""
    offset = at % capacity
    return at + (capacity - offset) if offset + length > capacity else at


def room(start, written, length, read_to, capacity):
    """Whether the piece may be written: it ends before the first unread byte comes round, or nothing is unread."""
    return read_to == written or start + length <= read_to + capacity


class RingPiece:
    """Bytes of a result that go into the worker's ring: copied there by the writer, in frame order."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data


class SharedRegion:
    """The rings, in memory of this process's own (memfd) that the host maps through ``/proc/<pid>/fd/<fd>``.

    ``create`` returns None where there is no memfd (not Linux) or it cannot be made: the pipes carry
    everything then. Nothing is made in /dev/shm or any other directory, so nothing is left behind,
    and the pages are allocated only as the rings first reach them.
    """

    def __init__(self, mm, capacity, fd):
        self._mm = mm
        self.capacity = capacity
        # Kept open for the worker's life: the host opens the memory through it, after the hello.
        self.fd = fd
        self._read = 0
        self._written = 0
        # The furthest byte of each ring this process has touched: its pages are in this process's RSS.
        self._reach_in = 0
        self._reach_out = 0
        self._lock = threading.Lock()

    @staticmethod
    def create(capacity):
        make = getattr(os, "memfd_create", None)
        if make is None:
            return None
        size = _HEADER_BYTES + 2 * capacity
        try:
            fd = make("molt-rings", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        except OSError:
            return None
        try:
            os.ftruncate(fd, size)
            # Sealed at its size: a page cut off under the host's mapping would kill the host (SIGBUS).
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
            mm = mmap.mmap(fd, size)
        except (OSError, ValueError, OverflowError, AttributeError):
            os.close(fd)
            return None
        mm[_MAGIC:_MAGIC + len(MAGIC)] = MAGIC
        return SharedRegion(mm, capacity, fd)

    def host_mapped(self):
        """Whether the host has mapped the rings (it says so in the header): until then, results take the pipes."""
        return self._mm[_HOST_MAPPED] == 1

    def resident_bytes(self):
        """The rings' memory in this process's RSS: the pages from the header to the furthest byte of each ring touched."""
        page = mmap.PAGESIZE
        first = -(-(_HEADER_BYTES + self._reach_in) // page)
        if self._reach_out == 0:
            return first * page
        second_from = max(first, (_HEADER_BYTES + self.capacity) // page)
        second_to = -(-(_HEADER_BYTES + self.capacity + self._reach_out) // page)
        return (first + second_to - second_from) * page

    def choose(self, lengths):
        """Which of one message's attachments go into the ring (the rest through the pipe).

        The host frees room only as it reads the frame that announces them, which is written after
        all of them: together they must fit however full the ring is when they come. One alone fits
        once the ring is empty; several do when they add up to half the ring at most, since each gap
        skipped at the ring's end is shorter than the piece after it.
        """
        if not self.host_mapped():
            return [False] * len(lengths)
        eligible = [SHARED_FROM_BYTES <= n <= self.capacity for n in lengths]
        if sum(eligible) <= 1:
            return eligible
        chosen, total = [], 0
        for n, ok in zip(lengths, eligible):
            ok = ok and total + n <= self.capacity // 2
            total += n if ok else 0
            chosen.append(ok)
        return chosen

    def take(self, length):
        """The next ``length`` bytes of the host's ring, as bytes; the room is the host's again."""
        start = placed(self._read, length, self.capacity)
        offset = _HEADER_BYTES + start % self.capacity
        data = self._mm[offset:offset + length]
        self._reach_in = max(self._reach_in, start % self.capacity + length)
        self._read = start + length
        _POSITION.pack_into(self._mm, _TO_WORKER_READ, self._read)
        return data

    def put(self, data):
        """Copy ``data`` into the worker's ring, waiting while the host has not read enough of it.

        It frees room by reading frames already written, which it always does: an orphaned worker
        is ended by its parent watch, not left waiting here.
        """
        length = len(data)
        with self._lock:
            start = placed(self._written, length, self.capacity)
            while not room(start, self._written, length, _POSITION.unpack_from(self._mm, _FROM_WORKER_READ)[0], self.capacity):
                time.sleep(_ROOM_POLL_S)
            offset = _HEADER_BYTES + self.capacity + start % self.capacity
            self._mm[offset:offset + length] = data
            self._reach_out = max(self._reach_out, start % self.capacity + length)
            self._written = start + length
