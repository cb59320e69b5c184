"""The Python deframer on streams of small, large (over 64 KiB) and oversize frames, cut anywhere.

Run by test/protocol/frames.test.ts: ``python3 test/python/framing_test.py``.
"""

import os
import random
import struct
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src", "python"))

from molt.framing import Deframer, Oversize  # noqa: E402

# Sizes around the deframer's thresholds: the header, the 64 KiB from which a frame is gathered in a
# buffer of its own, and the maximum.
SIZES = (0, 1, 5, 100, 65_535, 65_536, 70_000, 150_000, 300_000, 1 << 20, (1 << 20) + 5)
CUTS = (1, 3, 4, 7, 100, 65_536, 70_000, 1 << 20, 1 << 21)


class CutAnywhere(unittest.TestCase):
    def test_frames_come_out_whole_and_in_order(self):
        self.check(direct=False)

    def test_frames_read_into_room_come_out_whole_and_in_order(self):
        self.check(direct=True)

    def check(self, direct):
        rng = random.Random(1)
        for trial in range(200):
            limit = rng.choice((1_000, 200_000, 1 << 20))
            want, stream = [], bytearray()
            for _ in range(rng.randint(1, 8)):
                n = rng.choice(SIZES)
                body = bytes([trial % 251]) * n if n < 50 else (rng.randbytes(50) * (n // 50 + 1))[:n]
                want.append(body if n <= limit else ("oversize", n))
                stream += struct.pack(">I", n) + body
            deframer, got, at = Deframer(limit), [], 0
            while at < len(stream):
                cut = rng.choice(CUTS)
                room = deframer.room() if direct else None
                if room is None:
                    got += deframer.feed(memoryview(stream)[at:at + cut])
                else:
                    # As the worker's read loop does: read straight into the frame being gathered.
                    cut = min(cut, len(room), len(stream) - at)
                    room[:cut] = memoryview(stream)[at:at + cut]
                    got += deframer.filled(cut)
                at += cut
            got = [("oversize", g.length) if isinstance(g, Oversize) else g for g in got]
            self.assertEqual([len(g) if isinstance(g, bytes) else g for g in got],
                             [len(w) if isinstance(w, bytes) else w for w in want], f"trial {trial}")
            self.assertEqual(got, want, f"trial {trial}")


if __name__ == "__main__":
    unittest.main()
