# The part of python-lz4's frame API the journal uses (the package ships no type information).
from typing import Final, TypedDict

from lz4.block import Buffer

BLOCKSIZE_MAX256KB: Final[int]

class FrameInfo(TypedDict):
    block_size: int
    block_size_id: int
    block_linked: bool
    content_checksum: bool
    block_checksum: bool
    skippable: bool
    content_size: int

class LZ4FrameCompressor:
    def __init__(
        self,
        block_size: int = ...,
        block_linked: bool = ...,
        compression_level: int = ...,
        content_checksum: bool = ...,
        block_checksum: bool = ...,
        auto_flush: bool = ...,
        return_bytearray: bool = ...,
    ) -> None: ...
    def begin(self, source_size: int = ...) -> bytes: ...
    def compress(self, data: Buffer) -> bytes: ...
    def flush(self) -> bytes: ...

def get_frame_info(frame: Buffer) -> FrameInfo: ...
def decompress(data: Buffer, return_bytearray: bool = ..., return_bytes_read: bool = ...) -> bytes: ...
