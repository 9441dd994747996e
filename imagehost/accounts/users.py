"""The `users` collection: one document per account, its name unique ignoring case."""

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument

from ..database import create_indexes, unavailable_on_driver_error

USERS = "users"
ROLES = ("user", "admin")
STATUSES = ("active", "disabled")
OWNER_PREFIX = "user:"
# The owner of what nobody owns: API uploads without a token, what a deleted account left.
NOBODY = ""
# Declared once: ensure_indexes() creates them and backups describe them.
INDEXES = [{"key": {"username_key": ASCENDING}, "name": "username_unique", "unique": True}]


def now_ms() -> int:
    # Times are integer milliseconds, as the images' sort key: nx-27017 compares them in SQL.
    return time.time_ns() // 1_000_000


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def username_key(username: str) -> str:
    """What makes two names the same account: `Alice` and `alice` are one."""
    return username.casefold()


@dataclass(frozen=True)
class User:
    id: str
    username: str
    password_hash: str = field(repr=False)
    role: str = "user"
    status: str = "active"
    created_ms: int = field(default_factory=now_ms)
    last_seen_ms: int = 0
    # The language chosen with the switcher while signed in ("" = none chosen): it follows
    # the user to every browser they sign in on.
    language: str = ""
    # The admin whose password ADMIN_PASSWORD(_HASH) sets at every start.
    from_settings: bool = False
    # The admin's override of the QUOTA_* settings for this user (None: the setting's default;
    # 0: no limit).
    quota_bytes: int | None = None
    quota_images_per_day: int | None = None
    # The bytes of the account's image records, a running total that the upload and the one
    # delete path keep (so a quota check reads it instead of summing the records); None: not
    # counted yet (an account from before it), counted again from the records at start-up.
    stored_bytes: int | None = 0

    @property
    def owner(self) -> str:
        """The owner key of everything this user owns (images, albums)."""
        return OWNER_PREFIX + self.id

    @property
    def last_seen_at(self) -> datetime | None:
        return from_ms(self.last_seen_ms) if self.last_seen_ms else None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def active(self) -> bool:
        return self.status == "active"

    def to_document(self) -> dict:
        return {
            "_id": self.id,
            "username": self.username,
            "username_key": username_key(self.username),
            "password_hash": self.password_hash,
            "role": self.role,
            "status": self.status,
            "created_ms": self.created_ms,
            "last_seen_ms": self.last_seen_ms,
            "language": self.language,
            "from_settings": self.from_settings,
            "quota_bytes": self.quota_bytes,
            "quota_images_per_day": self.quota_images_per_day,
            "stored_bytes": self.stored_bytes,
        }

    @classmethod
    def from_document(cls, doc: dict) -> "User":
        return cls(
            id=doc["_id"],
            username=doc["username"],
            password_hash=doc["password_hash"],
            role=doc.get("role", "user"),
            status=doc.get("status", "active"),
            created_ms=doc.get("created_ms", 0),
            last_seen_ms=doc.get("last_seen_ms", 0),
            language=doc.get("language", ""),
            from_settings=doc.get("from_settings", False),
            quota_bytes=doc.get("quota_bytes"),
            quota_images_per_day=doc.get("quota_images_per_day"),
            stored_bytes=doc.get("stored_bytes"),
        )


@dataclass(frozen=True)
class UserPage:
    """One page of the accounts by name, and the names its neighbours are opened from."""

    users: list[User]
    previous: str  # the first name here: the previous page is the one before it ("": none)
    next: str  # the last name here: the next page is the one after it ("": none)
    offset: int  # how many accounts come before this page
    total: int  # how many accounts there are
    # How this page is asked for again ({"after": name}, {"before": name} or {}): every link
    # and form of the page carries it, so an action answers with the same page.
    position: dict = field(default_factory=dict)


def new_user_id() -> str:
    return str(ObjectId())


class UserRepository:
    """Every query on `users`."""

    def __init__(self, client: AsyncMongoClient, db_name: str) -> None:
        self.collection = client[db_name][USERS]

    async def ensure_indexes(self) -> None:
        with unavailable_on_driver_error():
            await create_indexes(self.collection, INDEXES)

    async def insert(self, user: User) -> None:
        """Add an account; raises DuplicateKeyError when the name is taken (in any case)."""
        with unavailable_on_driver_error():
            await self.collection.insert_one(user.to_document())

    async def get(self, user_id: str) -> User | None:
        with unavailable_on_driver_error():
            doc = await self.collection.find_one({"_id": user_id})
        return User.from_document(doc) if doc else None

    async def by_name(self, username: str) -> User | None:
        with unavailable_on_driver_error():
            doc = await self.collection.find_one({"username_key": username_key(username)})
        return User.from_document(doc) if doc else None

    async def by_keys(self, keys: list[str]) -> list[User]:
        """The accounts with these names' keys (username_key)."""
        with unavailable_on_driver_error():
            cursor = self.collection.find({"username_key": {"$in": keys}})
            return [User.from_document(doc) async for doc in cursor]

    async def update(self, user_id: str, **fields) -> None:
        with unavailable_on_driver_error():
            await self.collection.update_one({"_id": user_id}, {"$set": fields})

    async def delete(self, user_id: str) -> None:
        with unavailable_on_driver_error():
            await self.collection.delete_one({"_id": user_id})

    async def add_stored(self, user_id: str, size: int) -> User | None:
        """Add `size` bytes (negative: take them off) to the account's stored bytes, in one
        atomic update (uploads and deletes racing in any process each count once); the account
        as it is then, None when it is gone or its bytes are not counted."""
        with unavailable_on_driver_error():
            doc = await self.collection.find_one_and_update(
                {"_id": user_id, "stored_bytes": {"$type": "number"}},
                {"$inc": {"stored_bytes": size}},
                return_document=ReturnDocument.AFTER,
            )
        return User.from_document(doc) if doc else None

    async def set_stored(self, user_id: str, size: int, *, if_uncounted: bool = False) -> None:
        """Set the account's stored bytes (counted from its records); with `if_uncounted`
        only where they are not counted yet."""
        query: dict = {"_id": user_id}
        if if_uncounted:
            query["stored_bytes"] = None  # missing or null
        with unavailable_on_driver_error():
            await self.collection.update_one(query, {"$set": {"stored_bytes": size}})

    async def ids(self, *, uncounted: bool = False) -> list[str]:
        """Every account's id (with `uncounted`: of those whose stored bytes are not counted)."""
        query = {"stored_bytes": None} if uncounted else {}
        with unavailable_on_driver_error():
            return [doc["_id"] async for doc in self.collection.find(query, {"_id": 1})]

    async def seen(self, user_id: str, now: int, every_ms: int) -> None:
        """Note that the user was seen at `now`, unless that was noted less than `every_ms`
        ago: the filter makes replicas that see the user at once write it once."""
        with unavailable_on_driver_error():
            await self.collection.update_one(
                {"_id": user_id, "last_seen_ms": {"$lt": now - every_ms}},
                {"$set": {"last_seen_ms": now}},
            )

    async def page(self, size: int, *, after: str = "", before: str = "") -> "UserPage":
        """A page of up to `size` accounts by name (ignoring case): the first, the next ones
        after the name `after`, or the ones just before the name `before`. Names need not
        belong to an account any more: a page whose rows were deleted opens the one before it,
        and a page before that reaches the first account is the first page."""
        forward = bool(after) or not before
        bound = {"$gt": username_key(after)} if after else {"$lt": username_key(before)}
        docs = await self._names(bound if after or before else None, forward, size)
        if not forward and len(docs) < size:
            return await self.page(size)
        if after and not docs:
            return await self.page(size, before=after)
        users = [User.from_document(doc) for doc in (docs if forward else reversed(docs))]
        if not users:
            return UserPage([], "", "", 0, 0)
        first, last = username_key(users[0].username), username_key(users[-1].username)
        with unavailable_on_driver_error():
            earlier = await self.collection.count_documents({"username_key": {"$lt": first}})
            later = await self.collection.count_documents({"username_key": {"$gt": last}})
        return UserPage(
            users,
            previous=users[0].username if earlier else "",
            next=users[-1].username if later else "",
            offset=earlier,
            total=earlier + len(users) + later,
            position={"after": after} if after else {"before": before} if before else {},
        )

    async def _names(self, bound: dict | None, forward: bool, limit: int) -> list[dict]:
        query = {"username_key": bound} if bound else {}
        order = ASCENDING if forward else DESCENDING
        with unavailable_on_driver_error():
            cursor = self.collection.find(query).sort("username_key", order).limit(limit)
            return await cursor.to_list(limit)

    async def names(self, user_ids: list[str]) -> dict[str, str]:
        """The username of each of `user_ids` that has an account."""
        with unavailable_on_driver_error():
            cursor = self.collection.find({"_id": {"$in": user_ids}}, {"username": 1})
            return {doc["_id"]: doc["username"] async for doc in cursor}

    async def active_admins(self) -> int:
        with unavailable_on_driver_error():
            return await self.collection.count_documents({"role": "admin", "status": "active"})

    async def settings_admins(self) -> list[User]:
        """The admin accounts that ADMIN_PASSWORD(_HASH) made (one; more after a rename)."""
        with unavailable_on_driver_error():
            docs = await self.collection.find({"from_settings": True}).to_list(100)
        return [User.from_document(doc) for doc in docs]

    async def admin_exists(self) -> bool:
        with unavailable_on_driver_error():
            doc = await self.collection.find_one({"role": "admin", "status": "active"}, {"_id": 1})
        return doc is not None
