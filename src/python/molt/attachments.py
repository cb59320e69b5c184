"""Binary attachments (protocol minor 3).

A message that carries bytes lists their lengths in ``"attachments"`` and
names each in its args, result or chunk with a placeholder
``{"$molt.bytes": i}``; the bytes follow as raw frames, in order, right
after the JSON frame. Nothing is base64-encoded. With shared memory
(molt/shared_ring.py) a large one is announced as ``-n`` and goes into the
worker's ring instead of the pipe.
"""

import json
import struct
import threading

from .shared_ring import RingPiece

BYTES_KEY = "$molt.bytes"
_HEADER = struct.Struct(">I")
# The attachments found by the encoding under way on this thread (handler threads and the asyncio
# loop encode at the same time). Set only by encode_binary: a host that cannot read attachments pays nothing.
_found = threading.local()


class PlaceholderError(ValueError):
    """A placeholder that names no attachment."""


def _attach(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        found = _found.list
        found.append(frozen(value))
        return {BYTES_KEY: len(found) - 1}
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The encoder calls `default` only for what JSON has no form for: a result without bytes encodes as fast as with no hook.
_encode = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_attach).encode


def frozen(value):
    """Bytes that cannot change before they are written: bytes as they are, a mutable buffer copied once.

    A bytearray (or a view of one) may be changed by the handler after it returned it, while the
    frame waits for the writer; a view of bytes is sent as it is.
    """
    if type(value) is bytes:
        return value
    if isinstance(value, memoryview):
        if isinstance(value.obj, bytes) and value.c_contiguous:
            return value.cast("B")
        return value.tobytes()
    return bytes(value)


def encode_binary(message, shared=None):
    """``(JSON payload, [bytes...], [in the ring?...])``: the message's bytes, bytearrays and memoryviews replaced by placeholders.

    With a shared region, each attachment it chooses is announced as ``-n`` (in the ring).
    """
    _found.list = found = []
    try:
        payload = _encode(message).encode()
    finally:
        _found.list = None
    ringed = shared.choose([len(part) for part in found]) if shared is not None and found else [False] * len(found)
    if found:
        # The lengths go last, into the object just encoded: the encoder found the bytes only as it went.
        lengths = ",".join(str(-len(part) if ring else len(part)) for part, ring in zip(found, ringed))
        payload = b'%s,"attachments":[%s]}' % (payload[:-1], lengths.encode())
    return payload, found, ringed


def framed(payload, attachments, ringed):
    """The pieces to write for a JSON payload and its attachments: each attachment a frame of its own, not copied.

    An attachment for the ring comes first, as a RingPiece: the writer copies it there before the
    frame that announces it is written.
    """
    pieces = [RingPiece(part) for part, ring in zip(attachments, ringed) if ring]
    pieces.append(_HEADER.pack(len(payload)) + payload)
    for part, ring in zip(attachments, ringed):
        if not ring:
            pieces.append(_HEADER.pack(len(part)))
            pieces.append(part)
    return tuple(pieces)


def fill(value, parts):
    """``value`` (decoded JSON, changed in place) with each placeholder replaced by its bytes."""
    kind = type(value)
    if kind is dict:
        if BYTES_KEY in value:
            index = value[BYTES_KEY]
            if type(index) is int and 0 <= index < len(parts):
                return parts[index]
            raise PlaceholderError(f"placeholder {json.dumps(value)[:80]} names no attachment (the request has {len(parts)})")
        for key, item in value.items():
            if type(item) in (dict, list):
                value[key] = fill(item, parts)
        return value
    if kind is list:
        for i, item in enumerate(value):
            if type(item) in (dict, list):
                value[i] = fill(item, parts)
    return value
