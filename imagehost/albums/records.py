"""Albums and their memberships in MongoDB: the record types and every query on them.

An album is one document of `albums`; which images it holds, and in what order, is one
document per image in `album_images` (album id, image name, position). Positions are integers
with gaps, so a move rewrites one membership; a page starts at an index key (keyset).
"""

import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, UpdateOne
from pymongo.errors import BulkWriteError

from ..database import create_indexes, millis, reassign_owner, unavailable_on_driver_error

ALBUMS = "albums"
MEMBERS = "album_images"
# The indexes of both collections, declared once: ensure_indexes() creates them and backups
# describe them.
INDEXES = {
    ALBUMS: [
        {"key": {"album_id": ASCENDING}, "name": "album_id_unique", "unique": True},
        {"key": {"share_id": ASCENDING}, "name": "share_id_unique", "unique": True},
        {"key": {"owner": ASCENDING, "created_ms": DESCENDING}, "name": "owner_created_ms"},
    ],
    MEMBERS: [
        {"key": {"album": ASCENDING, "name": ASCENDING}, "name": "album_name_unique",
         "unique": True},
        {"key": {"album": ASCENDING, "position": ASCENDING, "name": ASCENDING},
         "name": "album_position"},
        # The same prefix again, for nx-27017 (the embedded server): it narrows a query by an
        # index's first field only when that index has no other, so without this one every
        # page read every membership of every album (130 ms for 21,000; 10 ms with it).
        {"key": {"album": ASCENDING}, "name": "album"},
        {"key": {"name": ASCENDING}, "name": "image_name"},
    ],
}  # fmt: skip
VISIBILITIES = ("unlisted", "private")
# Room between neighbours: a move takes the middle of a gap; a gap used up renumbers the album.
GAP = 1024


def new_id() -> str:
    """96 random bits, URL-safe: 16 characters of base64url (share links and album ids)."""
    return secrets.token_urlsafe(12)


@dataclass(frozen=True)
class AlbumRecord:
    album_id: str  # stable: the owner's pages use it
    share_id: str  # the /a/<share id> link; a new one kills the old
    owner: str
    title: str
    description: str = ""
    visibility: str = "unlisted"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def private(self) -> bool:
        return self.visibility == "private"

    def to_document(self) -> dict:
        return {**asdict(self), "created_ms": millis(self.created_at)}

    @classmethod
    def from_document(cls, doc: dict) -> "AlbumRecord":
        return cls(**{name: doc[name] for name in cls.__dataclass_fields__ if name in doc})


@dataclass(frozen=True)
class Membership:
    name: str
    position: int


class AlbumRepository:
    """Every query the app makes on `albums` and `album_images`."""

    def __init__(self, client: AsyncMongoClient, db_name: str) -> None:
        self.albums = client[db_name][ALBUMS]
        self.members = client[db_name][MEMBERS]

    async def ensure_indexes(self) -> None:
        for collection in (self.albums, self.members):
            await create_indexes(collection, INDEXES[collection.name])

    # -- albums ----------------------------------------------------------------------------
    async def insert(self, album: AlbumRecord) -> None:
        with unavailable_on_driver_error():
            await self.albums.insert_one(album.to_document())

    async def get(self, album_id: str) -> AlbumRecord | None:
        with unavailable_on_driver_error():
            doc = await self.albums.find_one({"album_id": album_id})
        return AlbumRecord.from_document(doc) if doc else None

    async def by_share_id(self, share_id: str) -> AlbumRecord | None:
        with unavailable_on_driver_error():
            doc = await self.albums.find_one({"share_id": share_id})
        return AlbumRecord.from_document(doc) if doc else None

    async def of_owner(self, owner: str, limit: int = 1000) -> list[AlbumRecord]:
        """The owner's albums, newest first."""
        with unavailable_on_driver_error():
            cursor = self.albums.find({"owner": owner}).sort("created_ms", DESCENDING).limit(limit)
            return [AlbumRecord.from_document(doc) async for doc in cursor]

    async def update(self, album_id: str, **fields) -> None:
        with unavailable_on_driver_error():
            await self.albums.update_one({"album_id": album_id}, {"$set": fields})

    async def delete(self, album_id: str) -> None:
        """The album and its memberships (never the images)."""
        with unavailable_on_driver_error():
            await self.albums.delete_one({"album_id": album_id})
            await self.members.delete_many({"album": album_id})

    async def change_owner(self, from_owner: str, to_owner: str) -> int:
        return await reassign_owner(self.albums, from_owner, to_owner)

    # -- memberships -----------------------------------------------------------------------
    async def count(self, album_id: str) -> int:
        # $count, not count_documents(): nx-27017 hands a $match and $count to SQLite (5 ms),
        # but evaluates count_documents' $group in Python over the rows (1.6 s for 1,000).
        pipeline = [{"$match": {"album": album_id}}, {"$count": "n"}]
        with unavailable_on_driver_error():
            found = await (await self.members.aggregate(pipeline)).to_list()
        return found[0]["n"] if found else 0

    async def _edge(self, album_id: str, last: bool) -> int | None:
        order = DESCENDING if last else ASCENDING
        with unavailable_on_driver_error():
            cursor = self.members.find({"album": album_id}).sort("position", order).limit(1)
            docs = await cursor.to_list(1)
        return docs[0]["position"] if docs else None

    async def append(self, album_id: str, names: list[str]) -> int:
        """Add images at the end, in the order given; those already in it stay where they
        are. Returns how many were added."""
        last = await self._edge(album_id, last=True)
        # At least the clock in ms: appends racing each other (parallel uploads into one
        # album) still get positions of their own, in the order they arrive.
        start = max(GAP if last is None else last + GAP, millis(datetime.now(UTC)))
        docs = [
            {"album": album_id, "name": name, "position": start + i * GAP}
            for i, name in enumerate(dict.fromkeys(names))
        ]
        if not docs:
            return 0
        with unavailable_on_driver_error():
            try:
                result = await self.members.insert_many(docs, ordered=False)
                return len(result.inserted_ids)
            except BulkWriteError as exc:  # some were in the album already
                return exc.details.get("nInserted", 0)

    async def remove(self, album_id: str, names: list[str]) -> int:
        with unavailable_on_driver_error():
            result = await self.members.delete_many({"album": album_id, "name": {"$in": names}})
        return result.deleted_count

    async def forget_image(self, name: str) -> int:
        """Drop a deleted image from every album."""
        with unavailable_on_driver_error():
            result = await self.members.delete_many({"name": name})
        return result.deleted_count

    async def albums_of(self, names: list[str]) -> dict[str, list[str]]:
        """For each image name, the ids of the albums holding it."""
        found: dict[str, list[str]] = {}
        with unavailable_on_driver_error():
            async for doc in self.members.find({"name": {"$in": names}}, {"album": 1, "name": 1}):
                found.setdefault(doc["name"], []).append(doc["album"])
        return found

    async def page(
        self, album_id: str, after: tuple[int, str] | None = None, limit: int = 48
    ) -> list[Membership]:
        """The memberships after `after` (position, name), in album order.

        `$gte` on the position and the exact (position, name) test here, as the gallery does:
        one integer range that nx-27017 hands to SQLite with the sort and the limit.
        """
        query: dict = {"album": album_id}
        if after is not None:
            query["position"] = {"$gte": after[0]}
        fetch = limit + 8
        with unavailable_on_driver_error():
            while True:
                cursor = (
                    self.members.find(query, {"name": 1, "position": 1})
                    .sort([("position", ASCENDING), ("name", ASCENDING)])
                    .limit(fetch)
                )
                docs = await cursor.to_list(fetch)
                found = [
                    Membership(doc["name"], doc["position"])
                    for doc in docs
                    if after is None or (doc["position"], doc["name"]) > after
                ][:limit]
                if len(found) == limit or len(docs) < fetch:
                    return found
                fetch *= 4

    async def move(self, album_id: str, name: str, *, direction: str = "", after: str = "") -> bool:
        """Move one image: `direction` "up" or "down" by one place, else to just after the image
        `after` names ("" for the front). False when the image or `after` is not in the album."""
        for _ in range(2):
            bounds = await self._bounds(album_id, name, direction, after)
            if bounds is None:
                return False
            lower, upper = bounds
            if lower is None and upper is None:
                return True  # nowhere to go
            if lower is None:
                position = upper - GAP
            elif upper is None:
                position = lower + GAP
            else:
                position = (lower + upper) // 2
                if position == lower:  # the gap is used up
                    await self.renumber(album_id)
                    continue
            with unavailable_on_driver_error():
                await self.members.update_one(
                    {"album": album_id, "name": name}, {"$set": {"position": position}}
                )
            return True
        raise RuntimeError("positions did not renumber")

    async def _bounds(
        self, album_id: str, name: str, direction: str, after: str
    ) -> tuple[int | None, int | None] | None:
        """The positions the moved image goes between (None: the album's end)."""
        with unavailable_on_driver_error():
            item = await self.members.find_one({"album": album_id, "name": name})
            if item is None:
                return None
            here, others = item["position"], {"album": album_id, "name": {"$ne": name}}
            if direction in ("up", "down"):
                up = direction == "up"
                near = {**others, "position": {"$lt": here} if up else {"$gt": here}}
                order = DESCENDING if up else ASCENDING
                docs = await self.members.find(near).sort("position", order).limit(2).to_list(2)
                if not docs:
                    return None, None
                far = docs[1]["position"] if len(docs) > 1 else None
                return (far, docs[0]["position"]) if up else (docs[0]["position"], far)
            if after:
                target = await self.members.find_one({"album": album_id, "name": after})
                if target is None or after == name:
                    return None
                lower = target["position"]
                query = {**others, "position": {"$gt": lower}}
            else:
                lower, query = None, others
            docs = await self.members.find(query).sort("position", ASCENDING).limit(1).to_list(1)
            return lower, (docs[0]["position"] if docs else None)

    async def renumber(self, album_id: str) -> None:
        """Spread the album's positions GAP apart again, keeping the order."""
        with unavailable_on_driver_error():
            cursor = self.members.find({"album": album_id}, {"name": 1}).sort(
                [("position", ASCENDING), ("name", ASCENDING)]
            )
            names = [doc["name"] async for doc in cursor]
            if names:
                await self.members.bulk_write(
                    [
                        UpdateOne({"album": album_id, "name": n}, {"$set": {"position": i * GAP}})
                        for i, n in enumerate(names, 1)
                    ]
                )
