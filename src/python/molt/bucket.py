"""Sticky bucketing, the same function as molt's TypeScript side.

MurmurHash3 x86_32 (seed 0) over the UTF-8 bytes of ``flag_key + ":" +
sticky_key``, mapped to a bucket 0-9999 with ``(hash * 10000) >> 32``. A V1
deployment that buckets with this function sends each session to the same
arm as molt's router does.

    >>> bucket("pool_v2_share", "session-42") == bucket("pool_v2_share", "session-42")
    True
"""

BUCKETS = 10000
SHARE_FLAG = "pool_v2_share"

_C1 = 0xCC9E2D51
_C2 = 0x1B873593
_MASK = 0xFFFFFFFF


def _rotl(x, r):
    return ((x << r) | (x >> (32 - r))) & _MASK


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86_32 of ``data``, as an unsigned 32-bit integer."""
    h = seed & _MASK
    n = len(data)
    end = n - n % 4
    for i in range(0, end, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = _rotl((k * _C1) & _MASK, 15)
        h ^= (k * _C2) & _MASK
        h = (_rotl(h, 13) * 5 + 0xE6546B64) & _MASK
    tail = data[end:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = _rotl((k * _C1) & _MASK, 15)
        h ^= (k * _C2) & _MASK
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    h ^= h >> 16
    return h


def bucket(flag_key: str, sticky_key: str) -> int:
    """The bucket (0-9999) of ``sticky_key`` for ``flag_key``."""
    return (murmur3_32(f"{flag_key}:{sticky_key}".encode("utf-8")) * BUCKETS) >> 32


def in_share(flag_key: str, sticky_key: str, share_bp: int) -> bool:
    """True when ``sticky_key`` falls inside a share of ``share_bp`` basis points."""
    return share_bp > 0 and (share_bp >= BUCKETS or bucket(flag_key, sticky_key) < share_bp)
