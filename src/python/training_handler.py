"""The handler of the training exercises (`molt train`): both arms answer
`work`. MOLT_TRAINING_FAULT on V2 breaks it: "leak" keeps 256 KB of every
call and, past 40 calls, fails one call in three; "broken" fails every
call."""

import os

from molt import command

ARM = os.environ.get("MOLT_ARM", "v1")
FAULT = os.environ.get("MOLT_TRAINING_FAULT", "") if ARM == "v2" else ""
held = []
served = {"n": 0}


@command("work", idempotent=True)
def work(args, ctx):
    served["n"] += 1
    if FAULT == "leak":
        # Capped at 64 MB: a training machine must not run out of memory.
        if len(held) < 256:
            held.append(bytearray(256 * 1024))
        if served["n"] > 40 and served["n"] % 3 == 0:
            raise MemoryError(f"V2 holds {len(held) // 4} MB it never frees")
    if FAULT == "broken":
        raise RuntimeError("V2 cannot reach its model")
    return {"i": args["i"], "arm": ARM}
