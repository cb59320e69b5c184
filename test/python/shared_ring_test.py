"""The worker's ring rules, simulated: what ``choose`` puts in the ring always finds room.

A message's ring pieces are written before the frame that announces them, and the host frees room
only as it reads that frame: so they must fit after everything before them has been read, from any
position, gaps at the ring's end included. Run by test/worker/shared-memory.test.ts.
"""

import os
import random
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src", "python"))

from molt.shared_ring import _HOST_MAPPED, SHARED_FROM_BYTES, SharedRegion, placed, room  # noqa: E402


def mapped(capacity):
    """A region whose rings the host has mapped, as far as the worker can tell."""
    region = SharedRegion.create(capacity)
    region._mm[_HOST_MAPPED] = 1
    return region


def rss_of_rings():
    """The Rss of this process's mapping of the rings, from /proc/self/smaps."""
    with open("/proc/self/smaps") as f:
        lines = f.read().splitlines()
    at = next(i for i, line in enumerate(lines) if "/memfd:molt-rings" in line)
    return next(int(line.split()[1]) * 1024 for line in lines[at + 1:] if line.startswith("Rss:"))


@unittest.skipUnless(hasattr(os, "memfd_create"), "the rings are a memfd: Linux only")
class Choose(unittest.TestCase):
    def test_chosen_pieces_fit_once_the_ring_is_read_up_to_them(self):
        rng = random.Random(5)
        regions = {capacity: mapped(capacity) for capacity in (64 * 1024, 1 << 20, 3 * (1 << 20) + 17)}
        for trial in range(20_000):
            capacity = rng.choice((64 * 1024, 1 << 20, 3 * (1 << 20) + 17))
            region = regions[capacity]
            lengths = [rng.choice((1, SHARED_FROM_BYTES - 1, SHARED_FROM_BYTES, capacity // 3, capacity // 2, capacity - 1, capacity, capacity + 1,
                                   rng.randint(SHARED_FROM_BYTES, capacity)))
                       for _ in range(rng.randint(1, 5))]
            chosen = region.choose(lengths)
            # Everything before the message read: the reader is where the writer is.
            written = read_to = rng.randint(0, 10 * capacity)
            for length, ring in zip(lengths, chosen):
                if not ring:
                    continue
                self.assertGreaterEqual(length, SHARED_FROM_BYTES)
                start = placed(written, length, capacity)
                self.assertTrue(room(start, written, length, read_to, capacity), f"trial {trial}: {lengths} {chosen} at {written}")
                written = start + length

    def test_a_lone_piece_up_to_the_ring_goes_in_it_and_several_share_half(self):
        region = mapped(1 << 20)
        self.assertEqual(region.choose([1 << 20]), [True])
        self.assertEqual(region.choose([(1 << 20) + 1, 100]), [False, False])
        self.assertEqual(region.choose([700_000, 700_000]), [False, False])
        self.assertEqual(region.choose([300_000, 200_000, 100_000]), [True, True, False])

    def test_nothing_goes_in_the_ring_before_the_host_has_mapped_it(self):
        region = SharedRegion.create(1 << 20)
        self.assertEqual(region.choose([100_000, 200_000]), [False, False])
        region._mm[_HOST_MAPPED] = 1
        self.assertEqual(region.choose([100_000, 200_000]), [True, True])


@unittest.skipUnless(hasattr(os, "memfd_create"), "the rings are a memfd: Linux only")
class Resident(unittest.TestCase):
    def test_resident_bytes_are_the_pages_of_the_rings_this_process_holds(self):
        # A capacity that is not a multiple of the page: the rings share the page where one ends.
        region = mapped((1 << 20) + 100)
        self.assertEqual(region.resident_bytes(), rss_of_rings())
        region.take(100_000)
        region.take(300_000)
        self.assertEqual(region.resident_bytes(), rss_of_rings())
        region.put(b"x" * 200_000)
        region.put(b"y" * 70_000)
        self.assertEqual(region.resident_bytes(), rss_of_rings())
        # Pieces that do not fit before the ring's end go to its start: the furthest byte is the longest one's.
        region.take(700_000)
        region.take(500_000)
        self.assertEqual(region.resident_bytes(), rss_of_rings())
        self.assertEqual(region._reach_in, 700_000)
        # Up to the host ring's end, in the page where the worker's ring begins.
        region.take(region.capacity - 500_000)
        self.assertEqual(region.resident_bytes(), rss_of_rings())


if __name__ == "__main__":
    unittest.main()
