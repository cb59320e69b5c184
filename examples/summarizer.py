"""The demo's example handler: a tiny text service, in V1 and V2 versions.

V1 and V2 give the same answers. With MOLT_DEMO_FAULT=1, V2 degrades once
a worker has served 1500 calls (about the 25% stage of the demo): it starts
failing 40% of them, which the rollout's monitor sees as a critical error
rate and rolls back.
"""

import asyncio
import os
import time
import zlib

from molt import command

VERSION = os.environ.get("MOLT_DEMO_VERSION", "v1")
FAULT = VERSION == "v2" and os.environ.get("MOLT_DEMO_FAULT") == "1"
served = {"n": 0}


@command("summarize", idempotent=True)
def summarize(args, ctx):
    served["n"] += 1
    if FAULT and served["n"] > 1500 and served["n"] % 5 < 2:
        raise RuntimeError("V2 degraded: the new summarizer lost its model")
    words = args["text"].split()
    # V1 is the old, slower code path; V2 is the rewrite.
    time.sleep(0.002 if VERSION == "v1" else 0.001)
    return {"summary": " ".join(words[:8]), "words": len(words)}


@command("classify", idempotent=True)
def classify(args, ctx):
    text = args["text"].lower()
    return {"label": "question" if text.rstrip().endswith("?") else "statement"}


@command("summarize_stream", idempotent=True)
async def summarize_stream(args, ctx):
    """The summary word by word, as a model streams its tokens."""
    for word in " ".join(args["text"].split()[:12]).split():
        await asyncio.sleep(0.005)
        yield word


@command("compress", idempotent=True)
def compress(args, ctx):
    """Bytes in, bytes out: `data` (bytes) compressed with zlib, as binary attachments both ways."""
    packed = zlib.compress(args["data"], args.get("level", 6))
    return {"data": packed, "ratio": round(len(packed) / max(1, len(args["data"])), 3)}
