"""The backup's accounts against the database's, for a restore without --replace: an account
whose name another account already has is not restored, nor anything it owns."""

from collections import Counter
from dataclasses import dataclass

import bson

from ..accounts.tokens import API_TOKENS
from ..accounts.users import OWNER_PREFIX, USERS, UserRepository, username_key
from ..albums.records import ALBUMS, MEMBERS


@dataclass(frozen=True)
class SkippedAccount:
    """An account of the backup left out of a restore: another account of the database has its
    name. Its images, albums and API tokens (counted here) stay out with it: nothing of it may
    end up with the other account, nor with no account at all."""

    username: str
    images: int
    albums: int
    tokens: int


class BackupAccounts:
    """What the archive says of accounts and what they own, noted while the restore scans it;
    then, once the database is asked (leave_out_taken), which of its documents are kept."""

    def __init__(self) -> None:
        self.names: dict[object, tuple[str, str]] = {}  # user id: (name key, name)
        # The backup's admin accounts made from the settings: their name's key, and their id.
        self.settings_admins: dict[str, object] = {}
        self.album_owners: dict[object, str] = {}  # album_id: owner
        self.images: Counter[str] = Counter()  # image records per owner
        self.tokens: Counter[object] = Counter()  # API tokens per user id
        self.left_out: set[object] = set()  # user ids
        self.left_out_owners: set[str] = set()
        self.left_out_albums: set[object] = set()

    def saw_record(self, doc: dict) -> None:
        self.images[doc.get("owner", "")] += 1

    def saw_side(self, collection: str, raw: bytes) -> None:
        if collection not in (USERS, API_TOKENS, ALBUMS):
            return
        doc = bson.decode(raw)
        if collection == USERS:
            key, name = doc.get("username_key"), doc.get("username")
            if isinstance(key, str) and isinstance(name, str):
                self.names[doc["_id"]] = (key, name)
                if doc.get("from_settings") is True:
                    self.settings_admins[key] = doc["_id"]
        elif collection == API_TOKENS:
            self.tokens[doc.get("user_id")] += 1
        else:
            self.album_owners[doc.get("album_id")] = doc.get("owner", "")

    async def leave_out_taken(self, users: UserRepository) -> list[SkippedAccount]:
        """Leave out each account of the backup whose name an account of the database has
        under another id (one with its id is the same account, maybe renamed since), with all
        it owns. The admin made from the settings gives way to the backup's instead (restore's
        _settings_admin_gives_way): that one is kept."""
        if not self.names:
            return []
        keys = [key for key, _ in self.names.values()]
        holders = {username_key(user.username): user for user in await users.by_keys(keys)}
        present = set(await users.names(list(self.names)))  # ids that have an account
        skipped = []
        for user_id, (key, name) in self.names.items():
            holder = holders.get(key)
            if holder is None or user_id in present:
                continue
            if holder.from_settings and self.settings_admins.get(key) == user_id:
                continue
            owner = OWNER_PREFIX + str(user_id)
            self.left_out.add(user_id)
            self.left_out_owners.add(owner)
            albums = {album for album, of in self.album_owners.items() if of == owner}
            self.left_out_albums |= albums
            skipped.append(
                SkippedAccount(name, self.images[owner], len(albums), self.tokens[user_id])
            )
        return sorted(skipped, key=lambda account: account.username)

    def keeps_record(self, doc: dict) -> bool:
        return not self.left_out_owners or doc.get("owner", "") not in self.left_out_owners

    @property
    def records_left_out(self) -> int:
        return sum(self.images[owner] for owner in self.left_out_owners)

    def keeps_side(self, collection: str, raw: bytes) -> bool:
        if not self.left_out:
            return True
        doc = bson.decode(raw)
        if collection == USERS:
            return doc["_id"] not in self.left_out
        if collection == API_TOKENS:
            return doc.get("user_id") not in self.left_out
        if collection == ALBUMS:
            return doc.get("album_id") not in self.left_out_albums
        if collection == MEMBERS:
            return doc.get("album") not in self.left_out_albums
        return True
