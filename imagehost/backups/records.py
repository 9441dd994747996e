"""The records as raw BSON, as the server sends them: what backups copy and restores insert."""

from collections.abc import Iterator


def split_documents(data: bytes) -> Iterator[bytes]:
    """The BSON documents of a bytes object that holds them back to back."""
    offset, end = 0, len(data)
    while offset < end:
        size = int.from_bytes(data[offset : offset + 4], "little")
        if size < 5 or offset + size > end:
            raise ValueError("truncated BSON document in a batch")
        yield data[offset : offset + size]
        offset += size
