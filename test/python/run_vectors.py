"""Runs the protocol vectors of test/spec/protocol against the Python side, in-process.

Prints one JSON object: {"results": [{"file", "name", "ok", "detail"}]}.
"""

import json
import os
import struct
import sys
import threading
import time

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


class Collector:
    """The worker's writer, in-process: frames sent from other threads (async answers) are kept."""

    def __init__(self):
        self.frames = []
        self.lock = threading.Lock()

    def send(self, frames):
        with self.lock:
            self.frames.extend(frames)

    def take(self, count, timeout_s=5):
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            with self.lock:
                if len(self.frames) >= count:
                    break
            time.sleep(0.005)
        with self.lock:
            taken, self.frames = self.frames, []
        return taken


def payload_bytes(payload):
    """A payload of a request case: a JSON text, or raw bytes given as {"hex": ...} (an attachment)."""
    return bytes.fromhex(payload["hex"]) if isinstance(payload, dict) else payload.encode()


def answers_of(frames):
    """The answers in the frames a worker wrote (a frame may be a tuple of pieces), each with its attachments as hex."""
    stream = b"".join(b"".join(f) if type(f) is tuple else f for f in frames)
    answers = []
    waiting = 0
    for body in Deframer(1 << 30).feed(stream):
        if waiting:
            answers[-1]["attachments"].append(body.hex())
            waiting -= 1
            continue
        answer = json.loads(body)
        if "attachments" in answer:
            waiting = len(answer["attachments"])
            answer["attachments"] = []
        answers.append(answer)
    return answers


def run_requests(results):
    spec = json.load(open(os.path.join(SPEC, "requests.json"), encoding="utf-8"))
    collector = Collector()
    server = Server(collector, spec["maxFrameBytes"], 1, host_minor=spec.get("hostMinor", 0))
    builtins.install(server.counters, spec["handler"])
    load_handler(os.path.join(ROOT, spec["handler"]))
    deframer = Deframer(spec["maxFrameBytes"])
    for case in spec["cases"]:
        several = "payloads" in case
        if several:
            payloads = [payload_bytes(p) for p in case["payloads"]]
        else:
            payloads = [bytes.fromhex(case["payloadHex"]) if "payloadHex" in case else case["payload"].encode()]
        expected = case["expect"] if several else [case["expect"]]
        out = []
        for item in deframer.feed(b"".join(struct.pack(">I", len(p)) + p for p in payloads)):
            server.handle(item, out)
        server.start_async()
        answers = answers_of(out + collector.take(len(expected) - len(out)))
        # Sorted by id only: a stream's chunks keep their order.
        by_id = sorted(answers, key=lambda a: (a.get("id") is None, a.get("id") or 0))
        want = sorted(expected, key=lambda a: (a["id"] is None, a["id"] or 0))
        ok = len(by_id) == len(want) and all(matches(a, e) for a, e in zip(by_id, want))
        results.append({"file": "requests.json", "name": case["name"], "ok": ok,
                        "detail": None if ok else {"got": answers, "want": expected}})
    server.runner.close()


def matches(answer, expect):
    if answer.get("id") != expect["id"] or answer.get("attachments") != expect.get("attachments"):
        return False
    for kind in ("chunk", "end"):
        if kind in expect:
            return kind in answer and answer[kind] == expect[kind]
    if answer.get("ok") != expect["ok"]:
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
