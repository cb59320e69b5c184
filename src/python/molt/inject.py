"""Fault injection for molt's validation suite, served only by a worker
started with MOLT_FAULT_INJECTION=1 (never in production by accident).

``molt.inject`` with ``{"kind": "garbage"}`` writes a frame that is not
JSON; with ``{"kind": "memory", "mb": N}`` it allocates N MB and keeps them;
with ``{"kind": "hang", "seconds": S}`` the handler hangs for S seconds.
Crashes are injected from outside, with SIGKILL.
"""

import os
import sys
import time

from .registry import register_builtin

_hoard = []


def _inject(args, ctx):
    kind = args.get("kind") if isinstance(args, dict) else None
    if kind == "garbage":
        # The worker module runs as __main__; its writer owns the frame stream.
        sys.modules["__main__"].writer.send([b"\x00\x00\x00\x0bnot-json!!!"])
        return None
    if kind == "hang":
        time.sleep(float(args.get("seconds", 60)))
        return None
    if kind == "memory":
        _hoard.append(bytearray(int(args.get("mb", 100)) << 20))
        return {"held_mb": sum(len(b) for b in _hoard) >> 20}
    raise ValueError(f"molt.inject: kind must be 'garbage', 'memory' or 'hang', received {kind!r}")


def install():
    if os.environ.get("MOLT_FAULT_INJECTION") == "1":
        register_builtin("molt.inject", _inject, False, threaded=True)
