"""Runs the protocol vectors of test/spec/protocol against the Python side, in-process.

Prints one JSON object: {"results": [{"file", "name", "ok", "detail"}]}.
"""

import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "src", "python"))

from molt import builtins  # noqa: E402
from molt.framing import Deframer, Oversize  # noqa: E402
from molt.loader import load_handler  # noqa: E402
from molt.worker import Server  # noqa: E402

SPEC = os.path.join(ROOT, "test", "spec", "protocol")


def part_bytes(part):
    if "frame" in part:
        body = part["frame"].encode()
        return struct.pack(">I", len(body)) + body
    if "header" in part:
        return struct.pack(">I", part["header"])
    if "text" in part:
        return part["text"].encode()
    return bytes.fromhex(part["hex"])


def chunks(stream, split):
    if split == "whole":
        return [stream]
    size = 1 if split == "bytes" else split
    return [stream[i:i + size] for i in range(0, len(stream), size)]


def run_frames(results):
    spec = json.load(open(os.path.join(SPEC, "frames.json"), encoding="utf-8"))
    for case in spec["cases"]:
        stream = b"".join(part_bytes(p) for p in case["stream"])
        want = case["expect"]
        for split in spec["splits"]:
            deframer = Deframer(case.get("maxFrameBytes", 64 * 1024 * 1024))
            got = []
            for chunk in chunks(stream, split):
                for item in deframer.feed(chunk):
                    if isinstance(item, Oversize):
                        got.append({"oversize": item.length})
                    else:
                        got.append({"payload": item.decode("utf-8")})
            results.append({"file": "frames.json", "name": f"{case['name']} [{split}]", "ok": got == want,
                            "detail": None if got == want else {"got": got, "want": want}})


def run_requests(results):
    spec = json.load(open(os.path.join(SPEC, "requests.json"), encoding="utf-8"))
    server = Server(None, spec["maxFrameBytes"], 1)
    builtins.install(server.counters, spec["handler"])
    load_handler(os.path.join(ROOT, spec["handler"]))
    deframer = Deframer(spec["maxFrameBytes"])
    for case in spec["cases"]:
        payload = bytes.fromhex(case["payloadHex"]) if "payloadHex" in case else case["payload"].encode()
        out = []
        for item in deframer.feed(struct.pack(">I", len(payload)) + payload):
            server.handle(item, out)
        answers = []
        for frame in out:
            for body in Deframer().feed(frame):
                answers.append(json.loads(body))
        ok = len(answers) == 1 and matches(answers[0], case["expect"])
        results.append({"file": "requests.json", "name": case["name"], "ok": ok,
                        "detail": None if ok else {"got": answers, "want": case["expect"]}})


def matches(answer, expect):
    if answer.get("id") != expect["id"] or answer.get("ok") != expect["ok"]:
        return False
    if expect["ok"]:
        return answer.get("result") == expect["result"]
    return answer.get("error", {}).get("type") == expect["errorType"]


def main():
    results = []
    run_frames(results)
    run_requests(results)
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
