"""How a journal chunk's bytes are stored: compressed when it is worth it, and checksummed.

A chunk of `COMPRESS_FROM` bytes or more is stored compressed as an LZ4 block (`LZ4_TAG`, then the
block with its size in front), or from `FRAME_FROM` bytes on (a round of a flood) as an LZ4 frame
(`LZ4_FRAME_TAG`, its content size in its header; `packed` says why): the journal is JSON of much the
same words (field names, stream ids, raw frames), which LZ4 makes about five times smaller at over
1 GB/s, so the backend writes (and its write-ahead log copies back) a fifth of the bytes for less
CPU than the bytes it saves. JSON starts with `[`, a zlib stream (the compression of version 3,
still read) with `x`, and LZ4 chunks with their tags, so a reader tells them apart by the first byte.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Final

from lz4 import block as lz4
from lz4 import frame as lz4f

COMPRESS_FROM: Final = 1024  # bytes of a chunk worth compressing
LZ4_TAG: Final = b"\x04"  # the first byte of an LZ4 block chunk (JSON starts with `[`, zlib with `x`)
LZ4_FRAME_TAG: Final = b"\x05"  # the first byte of an LZ4 frame chunk (`packed`)
FRAME_FROM: Final = 256 * 1024  # bytes of a chunk compressed as a frame of its blocks, not one block
LARGEST_CHUNK: Final = 1 << 30  # bytes: a stored size above this is damage, not a chunk to allocate
# LZ4's acceleration: it looks for fewer repeats. On the journal's JSON, 3 stores ~3% more bytes for
# about a sixth less of LZ4's time (`tests/bench/journal.py`'s run: 475 against 462 KB).
ACCELERATION: Final = 3


class Damaged(ValueError):
    """A record that does not decode: the journal is corrupt from here on."""


def packed(pieces: Sequence[bytes]) -> bytes:
    """A chunk, from the JSON arrays of the blocks it joins, compressed if it is worth it (on the
    writer's thread; LZ4 lets go of the GIL): as one LZ4 block, or from `FRAME_FROM` bytes on as an
    LZ4 frame of the blocks as they lie (`LZ4_FRAME_TAG`), their brackets and commas given between
    them.

    A round of a flood holds megabytes: joined first, they were copied, long after they were encoded
    and out of the cache by then, into a buffer of their size that the allocator mapped afresh each
    round, page faults included; the frame copies them into a block of its own that stays in the
    cache, and links its blocks, so it is the size of one LZ4 block. A frame costs ~8 µs more to
    begin than a block, which on the small chunks of a round of many quiet sessions is most of it."""
    size = sum(len(piece) for piece in pieces) - len(pieces) + 1  # of the joined array
    if size < COMPRESS_FROM:
        return joined_json(pieces)
    if size < FRAME_FROM:
        data = joined_json(pieces)
        packed = LZ4_TAG + lz4.compress(data, store_size=True, mode="fast", acceleration=ACCELERATION)
        return packed if len(packed) < size else data
    compressor = lz4f.LZ4FrameCompressor(
        block_size=lz4f.BLOCKSIZE_MAX256KB, block_linked=True, compression_level=-ACCELERATION
    )
    parts = [LZ4_FRAME_TAG, compressor.begin(source_size=size), compressor.compress(b"[")]
    last = len(pieces) - 1
    for n, piece in enumerate(pieces):
        parts.append(compressor.compress(memoryview(piece)[1:-1]))
        parts.append(compressor.compress(b"," if n < last else b"]"))
    parts.append(compressor.flush())
    packed = b"".join(parts)
    return packed if len(packed) < size else joined_json(pieces)


def joined_json(pieces: Sequence[bytes]) -> bytes:
    """JSON arrays, each of at least one item, as one array (built in one allocation)."""
    if len(pieces) == 1:
        return pieces[0]
    parts: list[bytes | memoryview] = [b"["]
    for piece in pieces:
        parts += (memoryview(piece)[1:-1], b",")
    parts[-1] = b"]"
    return b"".join(parts)


def unpacked(data: bytes) -> bytes:
    """A chunk's JSON, whichever way it was stored; raises `Damaged` when it does not unpack."""
    first = data[:1]
    if first == b"[":
        return data
    if first == LZ4_FRAME_TAG:
        return _unframed(memoryview(data)[1:])
    if first == LZ4_TAG:
        size = int.from_bytes(data[1:5], "little")
        if size > LARGEST_CHUNK:
            raise Damaged(f"not a chunk: an LZ4 block of {size:,} bytes")
        try:
            return lz4.decompress(memoryview(data)[1:])
        except lz4.LZ4BlockError as exc:
            raise Damaged(f"not a chunk: {exc}") from None
    try:
        return zlib.decompress(data)
    except zlib.error as exc:
        raise Damaged(f"not a chunk: {exc}") from None


def _unframed(frame: memoryview) -> bytes:
    try:
        size = lz4f.get_frame_info(frame)["content_size"]
        if not 0 < size <= LARGEST_CHUNK:
            raise Damaged(f"not a chunk: an LZ4 frame of {size:,} bytes")
        data = lz4f.decompress(frame)
    except RuntimeError as exc:  # the library's error for a frame that is not one
        raise Damaged(f"not a chunk: {exc}") from None
    if not isinstance(data, bytes) or len(data) != size:
        raise Damaged("not a chunk: an LZ4 frame cut short")
    return data


def checksum(data: bytes) -> int:
    return zlib.crc32(data)
