"""Image metadata in MongoDB through PyMongo's async API: the record type and its repository."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

__all__ = [
    "COLLECTION",
    "DatabaseUnavailable",
    "DuplicateKeyError",
    "ImageRecord",
    "ImageRepository",
    "Totals",
    "open_client",
]

COLLECTION = "images"
# The indexes the app relies on, declared once: ensure_indexes() creates them and backups
# describe them (nx-27017 reports index names and directions of its own).
INDEXES = [
    {"key": {"name": ASCENDING}, "name": "name_unique", "unique": True},
    {
        "key": {"owner": ASCENDING, "created_ms": DESCENDING, "name": DESCENDING},
        "name": "owner_created_ms",
    },
    {"key": {"created_ms": DESCENDING, "name": DESCENDING}, "name": "created_ms"},
    # The sweeper's query: expires_at as integer milliseconds (see to_document).
    {"key": {"expires_ms": ASCENDING}, "name": "expires_ms"},
]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def millis(moment: datetime) -> int:
    """Milliseconds since the epoch, truncated as BSON stores dates."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


class DatabaseUnavailable(Exception):
    """The database could not be reached or refused the operation."""


def record_files(name: str, thumbnail: str | None = "") -> tuple[str, ...]:
    """The stored files of a record: its image, then its thumbnail when it has one."""
    return (name, thumbnail) if thumbnail else (name,)


@contextmanager
def unavailable_on_driver_error() -> Iterator[None]:
    """Turn the driver's errors into DatabaseUnavailable, the one error callers handle.

    A duplicate key and a failed bulk write are answers about the data, not the database
    being away: they pass through for the callers that expect them.
    """
    try:
        yield
    except (DuplicateKeyError, BulkWriteError):
        raise
    except PyMongoError as exc:
        raise DatabaseUnavailable(str(exc)) from exc


async def create_indexes(collection: AsyncCollection, specs: list[dict]) -> None:
    """Create the indexes declared as `specs` ({"key": ..., "name": ..., options}): the one
    form every collection declares its indexes in, which backups also describe."""
    for spec in specs:
        options = {k: v for k, v in spec.items() if k != "key"}
        await collection.create_index(list(spec["key"].items()), **options)


async def reassign_owner(collection: AsyncCollection, from_owner: str, to_owner: str) -> int:
    """Give every document of `from_owner` in `collection` (images, albums) to `to_owner`;
    returns how many."""
    with unavailable_on_driver_error():
        result = await collection.update_many({"owner": from_owner}, {"$set": {"owner": to_owner}})
    return result.modified_count


@dataclass(frozen=True)
class ImageRecord:
    name: str
    original_name: str
    format: str
    width: int
    height: int
    size: int
    sha256: str
    delete_token_hash: str
    owner: str = ""
    thumbnail: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    expires_at: datetime | None = None  # None: kept until deleted

    @property
    def files(self) -> tuple[str, ...]:
        return record_files(self.name, self.thumbnail)

    @property
    def stem(self) -> str:
        return self.name.split(".", 1)[0]

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or datetime.now(UTC))

    def to_document(self) -> dict:
        # created_ms is the sort key and expires_ms the sweeper's: integers, because nx-27017
        # (the embedded server) evaluates date ranges in Python over every row but hands
        # integer ranges to SQLite.
        expires_ms = None if self.expires_at is None else millis(self.expires_at)
        return {**asdict(self), "created_ms": millis(self.created_at), "expires_ms": expires_ms}

    @classmethod
    def from_document(cls, doc: dict) -> "ImageRecord":
        known = {name: doc[name] for name in cls.__dataclass_fields__ if name in doc}
        for key in ("created_at", "expires_at"):
            moment = known.get(key)
            if isinstance(moment, datetime) and moment.tzinfo is None:
                known[key] = moment.replace(tzinfo=UTC)
        return cls(**known)


@dataclass(frozen=True)
class Totals:
    images: int
    bytes: int
    today: int


def open_client(uri: str, timeout_ms: int) -> AsyncMongoClient:
    """A client that gives up after `timeout_ms` so callers can answer 503 quickly."""
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms * 10, 30_000),
    )


class ImageRepository:
    """Every query the app makes on the `images` collection."""

    def __init__(self, client: AsyncMongoClient, db_name: str) -> None:
        self.client = client
        self.db_name = db_name
        self.collection = client[db_name][COLLECTION]

    async def ensure_indexes(self) -> None:
        """Create the declared indexes (the data migrations are migrations.py's)."""
        await create_indexes(self.collection, INDEXES)

    async def add_missing_sort_keys(self) -> int:
        """Give created_ms to records that lack it (from a foreign dump); returns how many."""
        return await self._add_missing_millis("created_ms", "created_at")

    async def add_missing_expiry_keys(self) -> int:
        """Give expires_ms to records with an expires_at but no expires_ms (a foreign dump);
        returns how many."""
        return await self._add_missing_millis("expires_ms", "expires_at")

    async def _add_missing_millis(self, key: str, moment: str) -> int:
        """Set `key` to the milliseconds of the datetime `moment` where `key` is missing."""
        added = 0
        missing = {key: {"$exists": False}, moment: {"$ne": None}}
        async for doc in self.collection.find(missing, {"_id": 1, moment: 1}):
            value = doc.get(moment)
            if isinstance(value, datetime):
                await self.collection.update_one(
                    {"_id": doc["_id"]}, {"$set": {key: millis(value)}}
                )
                added += 1
        return added

    async def ping(self) -> None:
        with unavailable_on_driver_error():
            await self.client.admin.command("ping")

    async def insert(self, record: ImageRecord) -> None:
        """Store a new record; raises DuplicateKeyError when the name is taken."""
        with unavailable_on_driver_error():
            await self.collection.insert_one(record.to_document())

    async def get(self, name: str) -> ImageRecord | None:
        with unavailable_on_driver_error():
            doc = await self.collection.find_one({"name": name})
        return ImageRecord.from_document(doc) if doc else None

    async def get_many(self, names: list[str]) -> dict[str, ImageRecord]:
        """The records of these names that exist, by name."""
        if not names:
            return {}
        with unavailable_on_driver_error():
            cursor = self.collection.find({"name": {"$in": list(names)}})
            return {doc["name"]: ImageRecord.from_document(doc) async for doc in cursor}

    async def get_by_stem(self, stem: str, extensions: tuple[str, ...]) -> ImageRecord | None:
        """The record whose name is `stem` with one of `extensions` (through the unique index)."""
        with unavailable_on_driver_error():
            doc = await self.collection.find_one({"name": {"$in": [stem + e for e in extensions]}})
        return ImageRecord.from_document(doc) if doc else None

    async def expired(self, now: datetime, limit: int) -> list[ImageRecord]:
        """Up to `limit` records whose expiry is at or before `now`, the longest expired first."""
        query = {"expires_ms": {"$lte": millis(now)}}
        with unavailable_on_driver_error():
            cursor = self.collection.find(query).sort("expires_ms", ASCENDING).limit(limit)
            docs = await cursor.to_list(limit)
        return [ImageRecord.from_document(doc) for doc in docs]

    async def reassign(self, from_owner: str, to_owner: str) -> int:
        """Give every image of `from_owner` to `to_owner`; returns how many."""
        return await reassign_owner(self.collection, from_owner, to_owner)

    async def give(self, from_owner: str, to_owner: str) -> tuple[int, int]:
        """Give the images of `from_owner` to `to_owner` one at a time; how many moved and
        their bytes, exactly those this call moved (one deleted meanwhile is not counted)."""
        moved = size = 0
        with unavailable_on_driver_error():
            docs = await self.collection.find(
                {"owner": from_owner}, {"name": 1, "size": 1}
            ).to_list()
            for doc in docs:
                result = await self.collection.update_one(
                    {"name": doc["name"], "owner": from_owner}, {"$set": {"owner": to_owner}}
                )
                moved += result.modified_count
                size += doc.get("size", 0) * result.modified_count
        return moved, size

    async def delete(self, name: str) -> ImageRecord | None:
        """Delete the record; the record as it was when deleted (its owner then), None when
        there was none (deleted meanwhile: by another delete, in any process)."""
        with unavailable_on_driver_error():
            doc = await self.collection.find_one_and_delete({"name": name})
        return ImageRecord.from_document(doc) if doc else None

    async def list_page(
        self,
        *,
        owner: str | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 24,
        search: str = "",
    ) -> list[ImageRecord]:
        """Newest first; `before` is the (created_at, name) of the last record already shown.

        Keyset pagination: the query starts at the key, so deep pages cost what page 1 does.
        `search` keeps records whose original name contains it, ignoring case.
        """
        query: dict = {}
        if owner is not None:
            query["owner"] = owner
        if search:
            query["original_name"] = {"$regex": re.escape(search), "$options": "i"}
        if before is not None:
            # `$lte` on the integer key plus the exact (created_at, name) test below, rather
            # than an `$or` with a tie-break: the query stays one range SQLite can use in
            # nx-27017; only records of the cursor's own millisecond are passed over.
            query["created_ms"] = {"$lte": millis(before[0])}
        # A limit, not just a batch size: nx-27017 materialises every matching row of an
        # unlimited find before answering (1.6 s for 100,000 records). When more rows of the
        # cursor's own millisecond than expected come first, ask again for more.
        fetch = limit + 8
        with unavailable_on_driver_error():
            while True:
                cursor = (
                    self.collection.find(query)
                    .sort([("created_ms", DESCENDING), ("name", DESCENDING)])
                    .limit(fetch)
                )
                docs = await cursor.to_list(fetch)
                records = [
                    record
                    for record in map(ImageRecord.from_document, docs)
                    if before is None or (record.created_at, record.name) < before
                ][:limit]
                if len(records) == limit or len(docs) < fetch:
                    return records
                fetch *= 4

    async def count(self) -> int:
        with unavailable_on_driver_error():
            return await self.collection.count_documents({})

    async def estimated_count(self) -> int:
        """The number of records from the collection's metadata: quick, for progress only."""
        with unavailable_on_driver_error():
            return await self.collection.estimated_document_count()

    async def all_names(self):
        """Every stored name (and thumbnail), streamed."""
        with unavailable_on_driver_error():
            async for doc in self.collection.find({}, {"name": 1, "thumbnail": 1, "_id": 0}):
                yield doc["name"], doc.get("thumbnail", "")

    async def totals(self, since: datetime) -> Totals:
        """How many images, their bytes, and how many were uploaded at or after `since`."""
        groups = await self.sums({}, by=None)
        with unavailable_on_driver_error():
            today = await self.collection.count_documents({"created_ms": {"$gte": millis(since)}})
        images, size = groups.get(None, (0, 0))
        return Totals(images, size, today)

    async def sums(self, match: dict, by: str | None) -> dict:
        """(images, bytes) of the records matching `match`, grouped by the field `by` (None:
        all in one group, keyed None); a group with no records is absent. One aggregate."""
        pipeline = [{"$match": match}] if match else []
        pipeline += [
            {
                "$group": {
                    "_id": None if by is None else f"${by}",
                    "images": {"$sum": 1},
                    "bytes": {"$sum": "$size"},
                }
            },
        ]
        with unavailable_on_driver_error():
            groups = await (await self.collection.aggregate(pipeline)).to_list()
        # nx-27017 sums a field missing everywhere to null, MongoDB to 0.
        return {g["_id"]: (g.get("images") or 0, g.get("bytes") or 0) for g in groups}

    async def delete_all(self) -> int:
        with unavailable_on_driver_error():
            result = await self.collection.delete_many({})
        return result.deleted_count
