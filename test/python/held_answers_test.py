"""Answers held while a call runs inline: sent by the watchdog when the call runs long, left to the
read's write when it does not, never lost when the worker ends right after. Run by
test/worker/worker.test.ts.
"""

import json
import os
import subprocess
import sys
import threading
import time
import unittest

SOURCE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src", "python")
sys.path.insert(0, SOURCE)

from molt.framing import Deframer, encode_frame  # noqa: E402
from molt.held_answers import HeldAnswers  # noqa: E402
from molt.worker import Writer  # noqa: E402

HANDLER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "echo_handler.py")


class Sent:
    """A send() that keeps what it was given."""

    def __init__(self):
        self.frames = []
        self.came = threading.Event()

    def __call__(self, frames):
        self.frames.extend(frames)
        self.came.set()


class HeldAnswersTest(unittest.TestCase):
    def test_sent_while_a_long_call_runs(self):
        sent = Sent()
        held = HeldAnswers(sent, hold_s=0.001)
        out = [b"a", b"b"]
        held.hold(out)
        self.assertTrue(sent.came.wait(10), "the watchdog sent nothing while the call ran")
        held.release()
        self.assertEqual((sent.frames, out), ([b"a", b"b"], []))

    def test_left_to_the_read_when_the_call_ends_first(self):
        sent = Sent()
        # Longer than the test: the watchdog never finds the call old enough.
        held = HeldAnswers(sent, hold_s=60)
        out = [b"a"]
        for _ in range(1000):
            held.hold(out)
            held.release()
        self.assertEqual((sent.frames, out), ([], [b"a"]))

    def test_no_thread_to_be_had(self):
        sent = Sent()
        held = HeldAnswers(sent, hold_s=0.001)
        start = threading.Thread.start

        def refuse(self):
            raise RuntimeError("can't start new thread")

        threading.Thread.start = refuse
        try:
            out = [b"a"]
            held.hold(out)
            held.release()
        finally:
            threading.Thread.start = start
        self.assertEqual((sent.frames, out), ([], [b"a"]))
        # The next hold tries again, and gets one.
        held.hold(out)
        self.assertTrue(sent.came.wait(10))
        held.release()
        self.assertEqual(sent.frames, [b"a"])


class WriterTest(unittest.TestCase):
    def test_a_failed_write_leaves_no_writer_at_work(self):
        r, w = os.pipe()
        os.close(r)
        writer = Writer(w)
        with self.assertRaises(BrokenPipeError):
            writer.send([b"lost"])
        os.close(w)
        r, w = os.pipe()
        writer._fd = w
        writer.send([b"next"])
        os.close(w)
        with os.fdopen(r, "rb") as f:
            self.assertEqual(f.read(), b"next")


class WorkerEndTest(unittest.TestCase):
    def test_answers_the_watchdog_sends_are_written_before_the_worker_exits(self):
        # A 4 MiB answer held while a 50 ms call runs, then the end of input: the watchdog is still writing
        # it (the test reads nothing yet) when the reading thread has answered the rest and would exit.
        worker = subprocess.Popen(
            [sys.executable, "-m", "molt.worker", "--handler", HANDLER],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": SOURCE},
        )
        requests = [{"id": 1, "command": "big", "args": {"bytes": 4 << 20}}, {"id": 2, "command": "sleep", "args": {"seconds": 0.05}}]
        # Small requests in one write, so in one read: a large one would be read up to its end and no further.
        worker.stdin.write(b"".join(encode_frame(json.dumps(r).encode()) for r in requests))
        worker.stdin.close()
        time.sleep(0.5)
        with worker.stdout:
            data = worker.stdout.read()
        worker.wait(10)
        answers = {m["id"]: m for m in (json.loads(bytes(f)) for f in Deframer(64 << 20).feed(data))}
        self.assertEqual(sorted(answers), [0, 1, 2])
        self.assertEqual((answers[1]["result"] == "x" * (4 << 20), answers[2]["ok"]), (True, True))


if __name__ == "__main__":
    unittest.main()
