"""Personal API tokens: `Authorization: Bearer <token>` makes a request its owner's. The token
is shown once; MongoDB keeps its hash, its name and when it was made and last used."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from pymongo import ASCENDING, AsyncMongoClient

from ..database import create_indexes, unavailable_on_driver_error
from .onetime import secret_hash
from .users import from_ms, now_ms

API_TOKENS = "api_tokens"
# A prefix of its own lets secret scanners (and people) tell what a leaked string is.
TOKEN_PREFIX = "ih_"
MAX_NAME = 100
# Last used is written at most this often per token, not on every request.
USED_EVERY_MS = 60 * 1000
# Declared once: ensure_indexes() creates them and backups describe them.
INDEXES = [
    {"key": {"user_id": ASCENDING, "created_ms": ASCENDING}, "name": "user_created"},
    {"key": {"public_id": ASCENDING}, "name": "public_id", "unique": True},
]


@dataclass(frozen=True)
class ApiToken:
    id: str  # public: names the token in the account page's forms
    user_id: str
    name: str
    created_ms: int
    last_used_ms: int = 0

    @property
    def created_at(self) -> datetime:
        return from_ms(self.created_ms)

    @property
    def last_used_at(self) -> datetime | None:
        return from_ms(self.last_used_ms) if self.last_used_ms else None

    @classmethod
    def from_document(cls, doc: dict) -> "ApiToken":
        return cls(
            doc["public_id"], doc["user_id"], doc["name"], doc["created_ms"],
            doc.get("last_used_ms", 0),
        )  # fmt: skip


class TokenStore:
    def __init__(self, client: AsyncMongoClient, db_name: str) -> None:
        self.collection = client[db_name][API_TOKENS]

    async def ensure_indexes(self) -> None:
        with unavailable_on_driver_error():
            await create_indexes(self.collection, INDEXES)

    async def create(self, user_id: str, name: str) -> tuple[str, ApiToken]:
        """A new token for `user_id`: the secret (shown once, never stored) and its record."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(secrets.token_hex(8), user_id, name[:MAX_NAME], now_ms())
        with unavailable_on_driver_error():
            await self.collection.insert_one(
                {
                    "_id": secret_hash(raw),
                    "public_id": token.id,
                    "user_id": user_id,
                    "name": token.name,
                    "created_ms": token.created_ms,
                    "last_used_ms": 0,
                }
            )
        return raw, token

    async def user_id(self, raw: str) -> str | None:
        """Whose token this is (None for an unknown or revoked one); notes that it was used."""
        with unavailable_on_driver_error():
            doc = await self.collection.find_one({"_id": secret_hash(raw)})
            if doc is None:
                return None
            now = now_ms()
            if now - doc.get("last_used_ms", 0) > USED_EVERY_MS:
                await self.collection.update_one(
                    {"_id": doc["_id"]}, {"$set": {"last_used_ms": now}}
                )
        return doc["user_id"]

    async def of_user(self, user_id: str) -> list[ApiToken]:
        """The user's tokens, oldest first."""
        with unavailable_on_driver_error():
            cursor = self.collection.find({"user_id": user_id}).sort("created_ms", ASCENDING)
            docs = await cursor.to_list(1000)
        return [ApiToken.from_document(doc) for doc in docs]

    async def revoke(self, user_id: str, token_id: str) -> bool:
        """Revoke one of `user_id`'s tokens (another user's is left alone); True if it was."""
        with unavailable_on_driver_error():
            result = await self.collection.delete_one({"public_id": token_id, "user_id": user_id})
        return result.deleted_count == 1

    async def forget(self, user_id: str) -> int:
        """Delete every token of `user_id`; returns how many."""
        with unavailable_on_driver_error():
            result = await self.collection.delete_many({"user_id": user_id})
        return result.deleted_count
