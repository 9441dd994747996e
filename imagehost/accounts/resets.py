"""One-time password-reset links the admin makes for a user: each expires, one use sets a
new password, and a new link for the same user replaces the old one."""

from pymongo import ASCENDING, AsyncMongoClient

from ..database import unavailable_on_driver_error
from .onetime import OneTimeLinks

PASSWORD_RESETS = "password_resets"


class ResetStore(OneTimeLinks):
    def __init__(self, client: AsyncMongoClient, db_name: str) -> None:
        super().__init__(client, db_name, PASSWORD_RESETS)

    async def ensure_indexes(self) -> None:
        await super().ensure_indexes()
        with unavailable_on_driver_error():
            await self.collection.create_index([("user_id", ASCENDING)], name="user_id")

    async def create(self, user_id: str, created_by: str, seconds: float) -> str:
        """A new reset link's token for `user_id` (not stored); their older links stop."""
        await self.forget(user_id)
        return await self._make(seconds, user_id=user_id, created_by=created_by)

    async def user_id(self, raw: str) -> str | None:
        """Whose live reset link this is, else None."""
        doc = await self._find(raw)
        return doc["user_id"] if doc else None

    async def use(self, raw: str) -> str | None:
        """Use the link up; whose it was, or None when it is gone, expired or used meanwhile."""
        doc = await self._take(raw)
        return doc["user_id"] if doc else None

    async def forget(self, user_id: str) -> int:
        with unavailable_on_driver_error():
            result = await self.collection.delete_many({"user_id": user_id})
        return result.deleted_count
