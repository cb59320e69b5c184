"""The handler of examples/fleet-node.ts (the fleet demo and tests): both
arms answer `work`. The V2 of a node started with MOLT_FAULT=1 fails every
call, or with MOLT_FAULT_AFTER=N too, 40% of its calls once it has served N:
the fleet's leader must catch a fault on one node of several."""

import os

from molt import command

FAULTY = os.environ.get("MOLT_ARM") == "v2" and os.environ.get("MOLT_FAULT") == "1"
FAULT_AFTER = int(os.environ.get("MOLT_FAULT_AFTER", "0"))
served = {"n": 0}


@command("work")
def work(args, ctx):
    served["n"] += 1
    if FAULTY and served["n"] > FAULT_AFTER and (FAULT_AFTER == 0 or served["n"] % 5 < 2):
        raise ValueError("this node's V2 is broken")
    return {"i": args["i"], "arm": os.environ.get("MOLT_ARM")}
