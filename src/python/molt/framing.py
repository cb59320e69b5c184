"""Wire protocol v1 framing: a 4-byte big-endian length, then that many bytes."""

import re
import struct

DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024
_HEADER = struct.Struct(">I")
_ID_PREFIX = re.compile(rb'^\s*\{\s*"id"\s*:\s*(\d{1,15})\s*[,}]')
_PREFIX_BYTES = 64
# A frame at least this long that has not all arrived is gathered in a buffer of its size, not by
# growing the read buffer (which copies it over and over), and copied out once. That buffer is kept
# for the next large frame up to _KEEP_BODY bytes: fresh memory costs more than the copy (a 1 MiB
# frame: 8-10 ms gathered in fresh memory each time, 0.1 ms in the kept buffer, on a VM).
_BODY_FROM = 64 * 1024
_KEEP_BODY = 16 * 1024 * 1024


def encode_frame(payload: bytes) -> bytes:
    return _HEADER.pack(len(payload)) + payload


def id_from_prefix(prefix: bytes):
    """The request id of a frame that cannot be parsed, when the host wrote it first."""
    match = _ID_PREFIX.match(prefix)
    return int(match.group(1)) if match else None


class Oversize:
    """A frame that was longer than the maximum; its bytes are skipped, not kept."""

    __slots__ = ("length", "prefix")

    def __init__(self, length, prefix):
        self.length = length
        self.prefix = prefix


class Deframer:
    """Incremental deframer: feed it any split of the stream, get whole frames back.

    A frame longer than the maximum is discarded as it arrives, never held in
    memory, and reported as an ``Oversize`` item once its last byte has gone
    by, so the stream stays in sync.
    """

    def __init__(self, max_frame_bytes=DEFAULT_MAX_FRAME_BYTES):
        self.max_frame_bytes = max_frame_bytes
        self._buf = bytearray()
        self._skip = 0
        self._oversize = None
        # A view of the buffer a large frame is gathered in, how much of it has arrived, and the buffer kept for the next.
        self._body = None
        self._fill = 0
        self._spare = None

    def feed(self, data):
        """Return the frames (bytes) and Oversize items completed by ``data``."""
        out = []
        if self._skip:
            data = self._discard(data, out)
        elif self._body is not None:
            data = self._take_body(data, out)
        # Frames are cut from the chunk itself while nothing is held over from the last: only a
        # frame's unfinished tail is copied into the buffer, not the whole chunk each time.
        buf = self._buf
        if buf:
            buf += data
            src = buf
        else:
            src = memoryview(data)
        off = 0
        while len(src) - off >= 4:
            (length,) = _HEADER.unpack_from(src, off)
            if length > self.max_frame_bytes:
                self._oversize = Oversize(length, b"")
                self._skip = length
                rest = bytes(src[off + 4:])
                buf.clear()
                buf += self._discard(rest, out)
                src, off = buf, 0
                continue
            if len(src) - off - 4 < length:
                if length >= _BODY_FROM:
                    self._start_body(length, src, off + 4)
                    buf.clear()
                    src, off = buf, 0
                break
            out.append(bytes(src[off + 4:off + 4 + length]))
            off += 4 + length
        if src is buf:
            if off:
                del buf[:off]
        elif off < len(src):
            buf += src[off:]
        return out

    def room(self):
        """The unfilled part of the large frame being gathered, or None: a reader may read into it
        directly, then call ``filled``, which saves copying those bytes out of a read buffer."""
        body = self._body
        return None if body is None else body[self._fill:]

    def filled(self, n):
        """Return the frames completed by ``n`` bytes read into ``room()``."""
        self._fill += n
        if self._fill < len(self._body):
            return []
        out = [self._body.tobytes()]
        self._body.release()
        self._body = None
        return out

    def _start_body(self, length, buf, start):
        spare = self._spare
        if spare is None or len(spare) < length:
            spare = bytearray(length)
            if length <= _KEEP_BODY:
                self._spare = spare
        self._body = memoryview(spare)[:length]
        self._fill = len(buf) - start
        with memoryview(buf) as view:
            self._body[:self._fill] = view[start:]

    def _take_body(self, data, out):
        take = min(len(self._body) - self._fill, len(data))
        self._body[self._fill:self._fill + take] = data[:take]
        out += self.filled(take)
        return data[take:]

    def _discard(self, data, out):
        oversize = self._oversize
        if len(oversize.prefix) < _PREFIX_BYTES:
            oversize.prefix += bytes(data[:min(_PREFIX_BYTES - len(oversize.prefix), self._skip)])
        take = min(self._skip, len(data))
        self._skip -= take
        if self._skip == 0:
            out.append(oversize)
            self._oversize = None
        return data[take:]
