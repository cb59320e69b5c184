"""The demo's handler: a word counter, a slow call and a way to crash."""

import os
import time

from molt import command


@command("count_words", idempotent=True)
def count_words(args, ctx):
    return {"words": len(args["text"].split()), "pid": os.getpid()}


@command("slow_square", idempotent=True)
def slow_square(args, ctx):
    time.sleep(args["delay_ms"] / 1000)
    return {"n": args["n"], "square": args["n"] ** 2}
