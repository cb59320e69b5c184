"""Wire protocol v1 framing: a 4-byte big-endian length, then that many bytes."""

import re
import struct

DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024
_HEADER = struct.Struct(">I")
_ID_PREFIX = re.compile(rb'^\s*\{\s*"id"\s*:\s*(\d{1,15})\s*[,}]')
_PREFIX_BYTES = 64


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

    def feed(self, data):
        """Return the frames (bytes) and Oversize items completed by ``data``."""
        out = []
        if self._skip:
            data = self._discard(data, out)
        buf = self._buf
        buf += data
        off = 0
        while len(buf) - off >= 4:
            (length,) = _HEADER.unpack_from(buf, off)
            if length > self.max_frame_bytes:
                self._oversize = Oversize(length, b"")
                self._skip = length
                rest = bytes(buf[off + 4:])
                buf.clear()
                off = 0
                buf += self._discard(rest, out)
                continue
            if len(buf) - off - 4 < length:
                break
            out.append(bytes(buf[off + 4:off + 4 + length]))
            off += 4 + length
        if off:
            del buf[:off]
        return out

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
