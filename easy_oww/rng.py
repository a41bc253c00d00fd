"""Deterministic random generators derived from (seed, item id, round).

Nothing in easy-oww touches the global RNG: each item gets its own generator, so results
are the same in any process, with any number of workers, in any order.
"""

from __future__ import annotations

import hashlib

import numpy as np


def key_to_int(key: str | int) -> int:
    """A stable 64-bit integer for an item id (Python's hash() is salted per process)."""
    if isinstance(key, int):
        return key & 0xFFFFFFFFFFFFFFFF
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


def item_rng(seed: int, key: str | int = 0, round_: int = 0, stream: str = "") -> np.random.Generator:
    """Generator for one item: same arguments, same numbers, everywhere.

    `stream` separates independent uses of one item (e.g. "augment" vs "tts").
    """
    parts = [seed & 0xFFFFFFFF, key_to_int(key), round_ & 0xFFFFFFFF]
    if stream:
        parts.append(key_to_int(stream))
    return np.random.default_rng(np.random.SeedSequence(parts))
