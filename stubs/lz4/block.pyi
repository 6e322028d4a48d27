# The part of python-lz4's block API the journal uses (the package ships no type information).
from typing import TypeAlias

Buffer: TypeAlias = bytes | bytearray | memoryview

class LZ4BlockError(Exception): ...

def compress(
    source: Buffer,
    mode: str = ...,
    acceleration: int = ...,
    compression: int = ...,
    store_size: bool = ...,
    return_bytearray: bool = ...,
) -> bytes: ...
def decompress(source: Buffer, uncompressed_size: int = ..., return_bytearray: bool = ...) -> bytes: ...
