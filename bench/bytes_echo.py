"""The floor of bench/payload.bench.ts: read one frame (4-byte big-endian length, then raw
bytes) straight into a kept buffer and write it back whole. No JSON, no copies beyond
the kernel's: what these pipes carry at best, one call at a time."""

import os

header = bytearray(4)
# Kept from frame to frame: fresh memory for each would cost page faults that the worker does not pay.
kept = bytearray(0)


def read_into(view):
    got = 0
    while got < len(view):
        n = os.readv(0, [view[got:]])
        if n == 0:
            raise SystemExit(0)
        got += n


while True:
    read_into(memoryview(header))
    length = 4 + int.from_bytes(header, "big")
    if len(kept) < length:
        kept = bytearray(length)
    view = memoryview(kept)[:length]
    view[:4] = header
    read_into(view[4:])
    while view:
        view = view[os.write(1, view):]
