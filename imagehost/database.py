"""Image metadata in MongoDB through PyMongo's async API: the record type and its repository."""

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.errors import DuplicateKeyError, PyMongoError

__all__ = [
    "DatabaseUnavailable",
    "DuplicateKeyError",
    "ImageRecord",
    "ImageRepository",
    "open_client",
]


class DatabaseUnavailable(Exception):
    """The database could not be reached or refused the operation."""


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

    def to_document(self) -> dict:
        return asdict(self)

    @classmethod
    def from_document(cls, doc: dict) -> "ImageRecord":
        known = {name: doc[name] for name in cls.__dataclass_fields__ if name in doc}
        created = known.get("created_at")
        if isinstance(created, datetime) and created.tzinfo is None:
            known["created_at"] = created.replace(tzinfo=UTC)
        return cls(**known)


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
        self.collection = client[db_name]["images"]

    async def ensure_indexes(self) -> None:
        await self.collection.create_index([("name", ASCENDING)], unique=True, name="name_unique")
        await self.collection.create_index(
            [("owner", ASCENDING), ("created_at", DESCENDING), ("name", DESCENDING)],
            name="owner_created",
        )
        await self.collection.create_index(
            [("created_at", DESCENDING), ("name", DESCENDING)], name="created"
        )

    async def ping(self) -> None:
        try:
            await self.client.admin.command("ping")
        except PyMongoError as exc:
            raise DatabaseUnavailable(str(exc)) from exc

    async def insert(self, record: ImageRecord) -> None:
        """Store a new record; raises DuplicateKeyError when the name is taken."""
        try:
            await self.collection.insert_one(record.to_document())
        except DuplicateKeyError:
            raise
        except PyMongoError as exc:
            raise DatabaseUnavailable(str(exc)) from exc

    async def get(self, name: str) -> ImageRecord | None:
        try:
            doc = await self.collection.find_one({"name": name})
        except PyMongoError as exc:
            raise DatabaseUnavailable(str(exc)) from exc
        return ImageRecord.from_document(doc) if doc else None

    async def delete(self, name: str) -> bool:
        try:
            result = await self.collection.delete_one({"name": name})
        except PyMongoError as exc:
            raise DatabaseUnavailable(str(exc)) from exc
        return result.deleted_count == 1

    async def list_page(
        self,
        *,
        owner: str | None = None,
        before: tuple[datetime, str] | None = None,
        limit: int = 24,
    ) -> list[ImageRecord]:
        """Newest first; `before` is the (created_at, name) of the last record already shown.

        Keyset pagination: the query starts at the key, so deep pages cost what page 1 does.
        """
        query: dict = {}
        if owner is not None:
            query["owner"] = owner
        if before is not None:
            # `$lte` plus the exact test below, not the textbook `$or` of `$lt` and a tie-break:
            # nx-27017 (the embedded server) compares dates to the whole second, so it also
            # returns rows of the cursor's own second that are newer than the cursor. Its sort
            # is exact, so those come first and are passed over; on MongoDB only the cursor's
            # exact ties are.
            query["created_at"] = {"$lte": before[0]}
        records: list[ImageRecord] = []
        try:
            cursor = (
                self.collection.find(query)
                .sort([("created_at", DESCENDING), ("name", DESCENDING)])
                .batch_size(limit + 8)
            )
            try:
                async for doc in cursor:
                    record = ImageRecord.from_document(doc)
                    if before is None or (record.created_at, record.name) < before:
                        records.append(record)
                        if len(records) == limit:
                            break
            finally:
                await cursor.close()
        except PyMongoError as exc:
            raise DatabaseUnavailable(str(exc)) from exc
        return records

    async def count(self) -> int:
        try:
            return await self.collection.count_documents({})
        except PyMongoError as exc:
            raise DatabaseUnavailable(str(exc)) from exc

    async def all_names(self):
        """Every stored name (and thumbnail), streamed."""
        try:
            async for doc in self.collection.find({}, {"name": 1, "thumbnail": 1, "_id": 0}):
                yield doc["name"], doc.get("thumbnail", "")
        except PyMongoError as exc:
            raise DatabaseUnavailable(str(exc)) from exc
