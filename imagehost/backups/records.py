"""The records as raw BSON, exactly as the server sends them: what backups copy and restores
insert. The app's own queries, on decoded records, are ImageRepository's."""

from collections.abc import AsyncIterator, Iterable, Iterator

from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.errors import BulkWriteError

from ..accounts import invites, onetime, tokens, users
from ..albums.records import INDEXES as ALBUM_INDEXES
from ..database import INDEXES, ImageRepository, create_indexes, unavailable_on_driver_error

# The collections a backup carries beside `images`, with their indexes: records that name no
# files of their own, dumped whole and restored as they are. The albums and their memberships;
# the accounts (password hashes), their API tokens (hashes too) and the pending invites (their
# TTL index with them). Sessions, password-reset links and sign-in failures stay out: a restore
# signs everyone out, as a session ended since the backup (signed out, by a password change or
# a disabled account) must not come back, nor a reset link used or replaced since; and
# failures count for minutes only.
SIDE_COLLECTIONS: dict[str, list[dict]] = {
    **ALBUM_INDEXES,
    users.USERS: users.INDEXES,
    tokens.API_TOKENS: tokens.INDEXES,
    invites.INVITES: onetime.INDEXES,
}
_DUPLICATE_KEY = 11000


def split_documents(data: bytes) -> Iterator[bytes]:
    """The BSON documents of a bytes object that holds them back to back."""
    offset, end = 0, len(data)
    while offset < end:
        size = int.from_bytes(data[offset : offset + 4], "little")
        if size < 5 or offset + size > end:
            raise ValueError("truncated BSON document in a batch")
        yield data[offset : offset + size]
        offset += size


class RawRecords:
    """The `images` collection read and written as raw BSON (_id and types kept)."""

    def __init__(self, repo: ImageRepository) -> None:
        self.db_name = repo.db_name
        self.client = repo.client
        self.collection = repo.collection
        self._raw = repo.collection.with_options(
            codec_options=CodecOptions(document_class=RawBSONDocument, tz_aware=True)
        )

    @staticmethod
    def index_specs(specs: list[dict] = INDEXES) -> list[dict]:
        """The collection's indexes as mongodump describes them (with the `_id_` index)."""
        return [{"v": 2, "key": {"_id": 1}, "name": "_id_"}] + [{"v": 2, **spec} for spec in specs]

    async def server_version(self) -> str:
        with unavailable_on_driver_error():
            info = await self.client.admin.command("buildInfo")
        return str(info.get("version", ""))

    async def batches(self, size: int) -> AsyncIterator[bytes]:
        """Every record, in _id order: `size` records at a time, back to back in one bytes
        object (as the server sent them: nothing decoded)."""
        with unavailable_on_driver_error():
            # Bounded batches: the server would otherwise send up to 16 MB at a time.
            cursor = self.collection.find_raw_batches({}).sort("_id", ASCENDING).batch_size(size)
            async with cursor:
                async for batch in cursor:
                    yield batch

    async def by_name(self, names: Iterable[str]) -> dict[str, bytes]:
        """The records with these names (those that exist)."""
        with unavailable_on_driver_error():
            cursor = self._raw.find({"name": {"$in": list(names)}})
            return {doc["name"]: doc.raw async for doc in cursor}

    async def insert(self, raw_docs: Iterable[bytes]) -> int:
        """Insert records as they are; returns how many. BulkWriteError passes through."""
        docs = [RawBSONDocument(raw) for raw in raw_docs]
        if not docs:
            return 0
        with unavailable_on_driver_error():
            await self.collection.insert_many(docs, ordered=True)
        # All of them: an ordered insert that fails raises (PyMongo lists no _ids for raw ones).
        return len(docs)


class RawCollection:
    """A side collection (SIDE_COLLECTIONS) read and written as raw BSON, whole."""

    def __init__(self, client: AsyncMongoClient, db_name: str, name: str) -> None:
        self.name = name
        self.collection = client[db_name][name]

    async def batches(self, size: int) -> AsyncIterator[bytes]:
        with unavailable_on_driver_error():
            cursor = self.collection.find_raw_batches({}).sort("_id", ASCENDING).batch_size(size)
            async with cursor:
                async for batch in cursor:
                    yield batch

    async def ensure_indexes(self) -> None:
        """The collection's declared indexes, before documents are added: a document that
        another one already holds the unique key of is not added twice."""
        with unavailable_on_driver_error():
            await create_indexes(self.collection, SIDE_COLLECTIONS[self.name])

    async def add(self, raw_docs: list[bytes]) -> int:
        """Insert the documents not there yet (by _id, or by a unique key); how many were."""
        docs = [RawBSONDocument(raw) for raw in raw_docs]
        if not docs:
            return 0
        with unavailable_on_driver_error():
            try:
                await self.collection.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if any(error.get("code") != _DUPLICATE_KEY for error in errors):
                    raise
                return len(docs) - len(errors)
        return len(docs)

    async def delete_all(self) -> int:
        with unavailable_on_driver_error():
            return (await self.collection.delete_many({})).deleted_count
