"""Image bytes in an S3 bucket (`STORAGE=s3`): the second implementation of `Storage`.

Objects live under `PREFIX/NAME`. Calls go through obstore (Rust's object_store), whose async
calls run on its own runtime and never block the event loop; `reader` uses its blocking calls,
on the worker thread that asks.
"""

import io
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import BinaryIO

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError, NotFoundError
from obstore.store import S3Store

from .s3config import S3Config, StorageError
from .storage import NAME_PATTERN, OpenStored, Readable, StoredFile, check_name

CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif"}
# Reads for backups come in pieces of this size at least, whatever the server sends.
_READ_CHUNK = 256 * 1024


def open_store(config: S3Config) -> S3Store:
    """A client of the bucket `config` names."""
    options = {"connect_timeout": "3s", "timeout": "30s"}
    if config.endpoint.startswith("http://"):
        options["allow_http"] = True
    return S3Store(
        config.bucket,
        endpoint=config.endpoint or None,
        region=config.region,
        access_key_id=config.access_key_id,
        secret_access_key=config.secret_access_key,
        # Path-style addressing works on every S3 implementation (RGW, MinIO, Garage...);
        # virtual hosts need DNS per bucket.
        virtual_hosted_style_request=False,
        client_options=options,
        retry_config={
            "max_retries": 2,
            "backoff": {
                "init_backoff": timedelta(milliseconds=100),
                "base": 2.0,
                "max_backoff": timedelta(seconds=1),
            },
            "retry_timeout": timedelta(seconds=10),
        },  # fmt: skip
    )


class S3Storage:
    """A bucket prefix of objects. A put is one PUT request (never multipart), so readers see the
    whole object or nothing; a taken name is refused with `If-None-Match: *`."""

    def __init__(self, config: S3Config, store: S3Store | None = None) -> None:
        self.config = config
        self.store = store or open_store(config)

    def _key(self, name: str) -> str:
        return self.config.key(check_name(name))

    async def put(self, name: str, data: bytes, *, replace: bool = False) -> None:
        """Store `data` under `name`; FileExistsError if the name is taken, unless `replace`."""
        key = self._key(name)
        with _mapped("put", key):
            await obstore.put_async(
                self.store,
                key,
                data,
                mode="overwrite" if replace else "create",
                use_multipart=False,
                attributes={"Content-Type": CONTENT_TYPES[name.rsplit(".", 1)[1]]},
            )

    async def open(self, name: str) -> BinaryIO:
        # Only the consistency check opens single files (to redraw a thumbnail): one image,
        # held in memory as the upload was.
        key = self._key(name)
        with _mapped("get", key):
            result = await obstore.get_async(self.store, key)
            return io.BytesIO(bytes(await result.bytes_async()))

    async def exists(self, name: str) -> bool:
        key = self._key(name)
        try:
            with _mapped("head", key):
                await obstore.head_async(self.store, key)
        except FileNotFoundError:
            return False
        return True

    async def delete(self, name: str) -> bool:
        """Remove an object; False when there was none. S3's DELETE answers the same either way,
        so a HEAD asks first."""
        if not await self.exists(name):
            return False
        key = self._key(name)
        with _mapped("delete", key):
            await obstore.delete_async(self.store, key)
        return True

    async def scan(self) -> list[StoredFile]:
        """Every stored object under the prefix. There are never temp files: an interrupted PUT
        leaves nothing behind."""
        now = time.time()
        prefix = self.config.key("")
        found = []
        with _mapped("list", prefix):
            async for batch in obstore.list(self.store, prefix=prefix or None):
                for meta in batch:
                    name = meta["path"][len(prefix) :]
                    if NAME_PATTERN.match(name):
                        found.append(StoredFile(name, _age(now, meta["last_modified"]), False))
        return found

    async def check(self) -> None:
        """StorageError with one clear line unless the bucket answers a listing with these keys:
        for start-up, so a wrong endpoint, bucket or key stops the app at once."""
        where = f"{self.config.endpoint or 'AWS S3'}, bucket {self.config.bucket!r}"
        try:
            await obstore.list(self.store, prefix=self.config.key(""), chunk_size=1).collect_async()
        except BaseError as exc:
            why = reason(exc)
            hint = {
                "NoSuchBucket": "the bucket does not exist",
                "InvalidAccessKeyId": "the access key is unknown",
                "SignatureDoesNotMatch": "the secret key is wrong",
                "AccessDenied": "these keys may not list the bucket",
                "cannot connect": "the endpoint is unreachable",
            }.get(why, why)
            raise StorageError(f"object storage unusable ({where}): {hint}") from None

    async def delete_temp(self, name: str) -> bool:
        raise ValueError(f"object storage keeps no temp files: {name!r}")

    async def free_bytes(self) -> int | None:
        """Object stores have no free space to ask about."""
        return None

    @contextmanager
    def reader(self) -> Iterator[OpenStored]:
        """Opens stored objects for reading on a worker thread, streamed: each open is one GET,
        whose body arrives as it is read."""

        def open_stored(name: str) -> Readable:
            key = self._key(name)
            with _mapped("get", key):
                return _ObjectStream(obstore.get(self.store, key))

        yield open_stored


class _ObjectStream:
    """One GET's body, read into the caller's buffers: each readinto fills its buffer unless the
    object ends first."""

    def __init__(self, result) -> None:
        self._size = result.meta["size"]
        self._chunks = iter(result.stream(min_chunk_size=_READ_CHUNK))
        self._pending = memoryview(b"")

    def size(self) -> int:
        return self._size

    def readinto(self, buffer: memoryview, /) -> int:
        filled = 0
        while filled < len(buffer):
            if not self._pending:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._pending = memoryview(chunk)
            count = min(len(buffer) - filled, len(self._pending))
            buffer[filled : filled + count] = self._pending[:count]
            self._pending = self._pending[count:]
            filled += count
        return filled

    def close(self) -> None:
        self._chunks = iter(())
        self._pending = memoryview(b"")


def _age(now: float, modified: datetime) -> float:
    return max(now - modified.timestamp(), 0.0)


@contextmanager
def _mapped(call: str, key: str) -> Iterator[None]:
    """obstore's errors as the Storage contract names them: FileNotFoundError, FileExistsError,
    or StorageError saying which call failed and why."""
    try:
        yield
    except (FileNotFoundError, NotFoundError):
        raise FileNotFoundError(2, "no such stored object", key) from None
    except (FileExistsError, AlreadyExistsError):
        raise FileExistsError(17, "the name is taken", key) from None
    except BaseError as exc:
        raise StorageError(f"object storage {call} of {key!r} failed: {reason(exc)}") from None


def reason(exc: BaseError) -> str:
    """What went wrong, in a few words: the server's S3 error code, or the transport's error.
    obstore's own message holds whole request lines and debug dumps."""
    text = str(exc)
    if code := re.search(r"<Code>([A-Za-z]+)</Code>", text):
        return code.group(1)
    if status := re.search(r"status code: (\d{3} [^:]*)", text):
        return status.group(1)
    if "error sending request" in text:
        return "cannot connect"
    return text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__
