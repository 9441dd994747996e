"""Accounts: sign-up (by the REGISTRATION setting), sign-in slowed after failures, sessions,
the admin account that ADMIN_PASSWORD or ADMIN_PASSWORD_HASH sets at start-up, and what the
admin does to a user (disable, a password-reset link, delete)."""

import asyncio
import dataclasses
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from loguru import logger
from pymongo import AsyncMongoClient

from ..coordination import LoginFailures
from ..database import DuplicateKeyError, ImageRecord
from ..i18n.languages import N_
from ..logsetup import one_line
from ..refusal import Refusal
from ..settings import MIN_ADMIN_PASSWORD, USERNAME, Settings, SettingsError
from ..uploads import UploadService
from .invites import InviteStore
from .passwords import Passwords
from .quotas import check_upload, parse_count, parse_size
from .resets import ResetStore
from .sessions import SessionStore
from .tokens import TokenStore
from .usage import count_stored
from .users import (
    NOBODY,
    OWNER_PREFIX,
    ROLES,
    User,
    UserRepository,
    new_user_id,
    now_ms,
    username_key,
)

# Failures of one address or one name are forgotten after this long without another one.
FAILURE_WINDOW = 15 * 60
MIN_PASSWORD = MIN_ADMIN_PASSWORD
# argon2 takes any length; a bound keeps a megabyte "password" from costing more.
MAX_PASSWORD = 1024
# Last seen is written at most this often per user, not on every request.
SEEN_EVERY_MS = 60 * 1000
# A password-reset link the admin makes is good for this long (and once).
RESET_HOURS = 24
# The password of an account the admin made, until its link sets one: no argon2 hash, so no
# password matches it.
NO_PASSWORD = ""
# Records deleted (or albums) at a time when an account goes with its images.
DELETE_BATCH = 200
CLOSED_MESSAGE = N_(
    "the admin area is closed: no admin password is configured. Set ADMIN_PASSWORD_HASH "
    "(make one with `python -m imagehost hash-password`) or ADMIN_PASSWORD, then restart"
)


def wrong_credentials() -> Refusal:
    # One answer for an unknown name and a wrong password: it tells nobody which names exist.
    return Refusal(401, "wrong_credentials", N_("Wrong username or password."))


def bad_invite() -> Refusal:
    return Refusal(
        403, "bad_invite",
        N_("this invite link is not valid (used, withdrawn or expired); ask for a new one"),
    )  # fmt: skip


def bad_reset() -> Refusal:
    return Refusal(
        403, "bad_reset",
        N_("this password-reset link is not valid (used, replaced or expired); ask the admin "
           "for a new one"),
    )  # fmt: skip


def password_from_settings() -> Refusal:
    return Refusal(
        403, "password_from_settings",
        N_("this account's password is set by ADMIN_PASSWORD or ADMIN_PASSWORD_HASH: "
           "change it there and restart"),
    )  # fmt: skip


def account_gone() -> Refusal:
    return Refusal(
        401, "account_gone",
        N_("your account was deleted or disabled while this request was under way; nothing "
           "was kept"),
    )  # fmt: skip


def _quota_field(text: str, parse: Callable[[str], int], refused: str) -> int | None:
    """A quota override from the admin's form: None (the default) when empty, else what
    `parse` reads; a value it cannot read is refused (400) with `refused`."""
    if not text.strip():
        return None
    try:
        return parse(text)
    except ValueError:
        raise Refusal(400, "malformed_request", refused) from None


@dataclass(frozen=True)
class Removed:
    """What deleting an account did with its things: deleted them, or left them to nobody."""

    images: int
    albums: int
    kept: bool


def check_username(username: str) -> None:
    if not USERNAME.fullmatch(username):
        raise Refusal(
            400, "bad_username",
            N_("a username is 1 to 32 letters (A-Z), digits and . _ -, starting with a "
               "letter or digit"),
        )  # fmt: skip


def check_new_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Refusal(
            400, "bad_password",
            N_("a password must be {low} to {high} characters long"),
            low=MIN_PASSWORD, high=MAX_PASSWORD,
        )  # fmt: skip


class Accounts:
    """Every account operation the handlers and start-up use. A wrong sign-in answers only
    after a delay that doubles with each failure of the address or of the name (whichever
    has more), up to `max_delay`; the counts live in MongoDB, for every replica."""

    def __init__(
        self,
        settings: Settings,
        client: AsyncMongoClient,
        executor: Executor | None = None,
        *,
        uploads: UploadService | None = None,
        failure_delay: float = 1.0,
        max_delay: float = 30.0,
    ) -> None:
        self.settings = settings
        db = settings.mongodb_db
        self.users = UserRepository(client, db)
        self.sessions = SessionStore(client, db)
        self.invites = InviteStore(client, db)
        self.tokens = TokenStore(client, db)
        self.resets = ResetStore(client, db)
        # The one delete path for images, and the repositories of what users own.
        self.uploads = uploads
        self.passwords = Passwords(executor)
        self.failures = LoginFailures(client, db, FAILURE_WINDOW)
        self.failure_delay = failure_delay
        self.max_delay = max_delay

    async def prepare(self) -> None:
        """The indexes, then the admin account from the settings: at start-up."""
        await self.users.ensure_indexes()
        await self.sessions.ensure_indexes()
        await self.invites.ensure_indexes()
        await self.tokens.ensure_indexes()
        await self.resets.ensure_indexes()
        await self.sync_admin()
        if self.uploads is not None:
            await count_stored(self.uploads.repo, self.users)

    # -- signing in ------------------------------------------------------------------------
    async def sign_in(self, username: str, password: str, client: str) -> User:
        """The user whose name and password these are; raises a Refusal otherwise."""
        user = await self.users.by_name(username) if USERNAME.fullmatch(username) else None
        if user is None:
            ok = await self.passwords.check_nobody(password)
        else:
            ok = await self.passwords.check(user.password_hash, password)
        keys = (f"ip:{client}", f"name:{username_key(username)}")
        if not ok:
            count = max([await self.failures.add(key) for key in keys])
            logger.warning(
                f"sign-in failed user={one_line(username)} ip={one_line(client)} failures={count}"
            )
            await asyncio.sleep(min(self.failure_delay * 2 ** (count - 1), self.max_delay))
            raise wrong_credentials()
        for key in keys:
            await self.failures.clear(key)
        if not user.active:
            logger.warning(f"sign-in refused user={one_line(user.username)} disabled")
            raise Refusal(403, "account_disabled", N_("this account is disabled"))
        logger.info(f"sign-in user={one_line(user.username)} ip={one_line(client)}")
        return user

    async def sign_up(self, username: str, password: str, invite: str = "") -> User:
        """A new account, if REGISTRATION lets this sign-up in; raises a Refusal otherwise."""
        mode = self.settings.registration
        if mode == "closed":
            raise Refusal(403, "registration_closed", N_("this site does not take sign-ups"))
        if mode == "invite" and not (invite and await self.invites.valid(invite)):
            raise bad_invite()
        check_username(username)
        check_new_password(password)
        # Hashed before the name is looked up: a taken name answers in the same time.
        user = User(new_user_id(), username, await self.passwords.hash(password))
        await self._insert(user)
        if mode == "invite" and not await self.invites.use(invite):
            await self.users.delete(user.id)  # used by another sign-up meanwhile
            raise bad_invite()
        logger.info(f"sign-up user={one_line(username)} registration={mode}")
        return user

    async def _insert(self, user: User) -> None:
        try:
            await self.users.insert(user)
        except DuplicateKeyError:
            raise Refusal(409, "username_taken", N_("that username is taken")) from None

    async def change_password(self, user: User, current: str, new: str, keep: str) -> int:
        """Set `user`'s password to `new` if `current` is theirs; every session but `keep`
        (the one asking) ends. Returns how many ended. API tokens stay (revoke them apart)."""
        if user.from_settings:
            raise password_from_settings()
        if not await self.passwords.check(user.password_hash, current):
            count = await self.failures.add(f"name:{username_key(user.username)}")
            logger.warning(f"password change refused user={one_line(user.username)} wrong")
            await asyncio.sleep(min(self.failure_delay * 2 ** (count - 1), self.max_delay))
            raise Refusal(401, "wrong_credentials", N_("the current password is wrong"))
        check_new_password(new)
        await self.users.update(user.id, password_hash=await self.passwords.hash(new))
        ended = await self.sessions.end_all(user.id, keep=keep)
        logger.info(f"password changed user={one_line(user.username)} sessions_ended={ended}")
        return ended

    async def set_language(self, user: User, language: str) -> None:
        """Keep `language` (one of LANGUAGES, or "" for none) as `user`'s own choice."""
        if language != user.language:
            await self.users.update(user.id, language=language)

    # -- quotas ----------------------------------------------------------------------------
    async def set_quota(self, user_id: str, size: str, images_per_day: str) -> User:
        """Override the QUOTA_* defaults for one user: bytes stored ("5G", "500M"...) and
        images a day; an empty value is the default again, 0 no limit. Returns the user."""
        user = await self.users.get(user_id)
        if user is None:
            raise Refusal(404, "not_found", N_("no such user"))
        quota_bytes = _quota_field(
            size, parse_size,
            N_("the storage quota must be a number of bytes, optionally with K, M, G or T "
               "(5G is 5 GiB), 0 for no limit, or empty for the default"),
        )  # fmt: skip
        quota_daily = _quota_field(
            images_per_day, parse_count,
            N_("the daily quota must be a whole number of images, 0 for no limit, or empty "
               "for the default"),
        )  # fmt: skip
        await self.users.update(user.id, quota_bytes=quota_bytes, quota_images_per_day=quota_daily)
        logger.info(
            f"quota set user={one_line(user.username)} bytes={quota_bytes} "
            f"images_per_day={quota_daily}"
        )
        return dataclasses.replace(user, quota_bytes=quota_bytes, quota_images_per_day=quota_daily)

    # -- sessions --------------------------------------------------------------------------
    def session_seconds(self, user: User) -> float:
        if user.is_admin:
            return self.settings.admin_session_hours * 3600
        return self.settings.session_days * 86400

    async def start_session(self, user: User) -> str:
        return await self.sessions.create(user.id, self.session_seconds(user))

    async def user_for_session(self, raw: str) -> User | None:
        """The active user of a live session; None when it ended, expired or was disabled."""
        return await self._active(await self.sessions.user_id(raw))

    async def user_for_token(self, raw: str) -> User | None:
        """The active user whose API token this is; None when revoked, unknown or disabled."""
        return await self._active(await self.tokens.user_id(raw))

    async def _active(self, user_id: str | None) -> User | None:
        user = await self.users.get(user_id) if user_id else None
        if user is None or not user.active:
            return None
        now = now_ms()
        if now - user.last_seen_ms > SEEN_EVERY_MS:
            await self.users.seen(user.id, now, SEEN_EVERY_MS)
        return user

    async def confirm_owner(self, user: User) -> User:
        """`user` as stored now, asked once something made in their name (an image record, an
        album) is in the database; raises account_gone (401) when the account was deleted or
        disabled since the request was signed in, and the caller then removes what it made.

        This is what keeps delete_user exact in every process, with no lock: delete_user
        disables the account before it sweeps what the account owns, and the sweep reads after
        that. A write that reads the account still active here went in before the disable, so
        the sweep finds it; one that reads it disabled or gone removes itself. A disabled
        account's write is refused too: a delete begins with that same disable, and a disable
        holds at once for whatever was not in yet, as it does for the account's tokens."""
        current = await self.users.get(user.id)
        if current is None or not current.active:
            raise account_gone()
        return current

    async def check_upload(self, user: User, size: int, stored: bool) -> None:
        """UploadService.accept's `check` for `user`'s upload of `size` bytes: the quotas
        before the files are written; once the record is in, its bytes are added to the
        account's running total (one atomic update, which reads the account as it is then:
        still there, as confirm_owner asks), then the quotas again with this upload counted.
        A refused upload is deleted through the one delete path, which takes them off again."""
        if stored:
            counted = await self.users.add_stored(user.id, size)
            if counted is None or not counted.active:  # gone, disabled, or not counted yet
                counted = await self.confirm_owner(user)
            user = counted
        await check_upload(self.uploads.repo, user, self.settings.quota, size, stored)

    async def image_removed(self, record: ImageRecord) -> None:
        """The one delete path removed `record`: its bytes leave its account's total."""
        if record.owner.startswith(OWNER_PREFIX):
            await self.users.add_stored(record.owner.removeprefix(OWNER_PREFIX), -record.size)

    async def admin_exists(self) -> bool:
        return await self.users.admin_exists()

    # -- what the admin does to a user ----------------------------------------------------
    async def _check_removable(self, user: User, by: User, own: str = "") -> None:
        """Refuse to disable, delete or demote the admin's own account (`own`: what to say),
        the last active admin, or the admin that the settings make again at every start."""
        if user.id == by.id:
            raise Refusal(
                409, "own_account",
                own or N_("you cannot disable or delete your own account; another admin can"),
            )  # fmt: skip
        if user.from_settings:
            raise Refusal(
                409, "account_from_settings",
                N_("this admin account is made again at every start from ADMIN_PASSWORD or "
                   "ADMIN_PASSWORD_HASH: change those settings instead"),
            )  # fmt: skip
        if user.is_admin and user.active and await self.users.active_admins() <= 1:
            raise Refusal(
                409, "last_admin",
                N_("this is the last active admin account: the site would have no admin"),
            )  # fmt: skip

    async def set_disabled(self, user: User, by: User, disabled: bool) -> None:
        """Disable `user` (their sessions end; their API tokens are refused while the account
        is disabled, and work again when it is enabled) or enable it again."""
        if disabled:
            await self._check_removable(user, by)
            await self.users.update(user.id, status="disabled")
            ended = await self.sessions.end_all(user.id)
            logger.info(
                f"account disabled user={one_line(user.username)} by={one_line(by.username)} "
                f"sessions_ended={ended}"
            )
        else:
            await self.users.update(user.id, status="active")
            logger.info(
                f"account enabled user={one_line(user.username)} by={one_line(by.username)}"
            )

    async def set_role(self, user: User, by: User, role: str) -> User:
        """Make `user` an admin or a user again (`role`), by the admin `by`; refused for
        their own account, the admin from the settings and the last active admin. It counts
        from the next request in every process (each reads the account). A new admin's
        sessions last no longer than an admin sign-in's (ADMIN_SESSION_HOURS) from now."""
        if role not in ROLES:
            raise Refusal(
                400, "malformed_request", N_("role is user or admin, not {value}"), value=role
            )
        if role == user.role:
            return user
        if role == "user":
            await self._check_removable(
                user, by, N_("you cannot make your own account a user; another admin can")
            )
        await self.users.update(user.id, role=role)
        shortened = 0
        if role == "admin":
            hours = self.settings.admin_session_hours
            shortened = await self.sessions.shorten(user.id, hours * 3600)
        logger.info(
            f"role changed user={one_line(user.username)} role={role} by={one_line(by.username)}"
            f" sessions_shortened={shortened}"
        )
        return dataclasses.replace(user, role=role)

    async def create_user(self, username: str, by: User) -> tuple[User, str]:
        """A new account that the admin `by` makes (whatever REGISTRATION says), with no
        password yet: the returned token's reset link sets the first one. Raises a Refusal
        for a bad or taken name."""
        check_username(username)
        user = User(new_user_id(), username, NO_PASSWORD)
        await self._insert(user)
        raw = await self.resets.create(user.id, by.id, RESET_HOURS * 3600)
        logger.info(f"account made user={one_line(username)} by={one_line(by.username)}")
        return user, raw

    async def make_reset_link(self, user: User, by: User) -> str:
        """A one-time password-reset token for `user` (for the link; shown once, its hash
        stored), good for RESET_HOURS; the user's older links stop working."""
        if user.from_settings:
            raise password_from_settings()
        raw = await self.resets.create(user.id, by.id, RESET_HOURS * 3600)
        logger.info(f"reset link made user={one_line(user.username)} by={one_line(by.username)}")
        return raw

    async def user_for_reset(self, raw: str) -> User:
        """The user whose live reset link this is; raises a Refusal otherwise."""
        user_id = await self.resets.user_id(raw)
        user = await self.users.get(user_id) if user_id else None
        if user is None:
            raise bad_reset()
        if not user.active:
            raise Refusal(403, "account_disabled", N_("this account is disabled"))
        return user

    async def reset_password(self, raw: str, new: str) -> User:
        """Set a new password through a reset link, which is used up; every session of the
        account ends (API tokens stay). Returns the user."""
        user = await self.user_for_reset(raw)
        check_new_password(new)
        hashed = await self.passwords.hash(new)
        if await self.resets.use(raw) != user.id:
            raise bad_reset()  # used meanwhile
        await self.users.update(user.id, password_hash=hashed)
        ended = await self.sessions.end_all(user.id)
        logger.info(f"password reset user={one_line(user.username)} sessions_ended={ended}")
        return user

    async def delete_user(self, user: User, by: User, *, keep_images: bool) -> Removed:
        """Delete `user`'s account, by the admin `by`. The account is disabled and its
        sessions, tokens and reset links end first, so nothing new arrives meanwhile; then its
        images and albums are deleted (images through the one delete path) or, with
        `keep_images`, left to nobody (owner "": still at their links, found by the admin);
        the user record goes last, so an interrupted delete can be run again."""
        await self._check_removable(user, by)
        await self.users.update(user.id, status="disabled")
        await self.sessions.end_all(user.id)
        await self.tokens.forget(user.id)
        await self.resets.forget(user.id)
        uploads = self.uploads
        if keep_images:
            images = await uploads.repo.reassign(user.owner, NOBODY)
            albums = await uploads.albums.change_owner(user.owner, NOBODY)
        else:
            images = albums = 0
            while records := await uploads.repo.list_page(owner=user.owner, limit=DELETE_BATCH):
                for record in records:
                    await uploads.delete(record)
                images += len(records)
            while owned := await uploads.albums.of_owner(user.owner, limit=DELETE_BATCH):
                for album in owned:
                    await uploads.albums.delete(album.album_id)
                albums += len(owned)
        await self.users.delete(user.id)
        logger.info(
            f"account deleted user={one_line(user.username)} by={one_line(by.username)} "
            f"images={images} albums={albums} {'kept' if keep_images else 'deleted'}"
        )
        return Removed(images, albums, keep_images)

    # -- the admin from the settings -------------------------------------------------------
    async def sync_admin(self) -> None:
        """Create or update the ADMIN_USERNAME account from ADMIN_PASSWORD(_HASH): an install
        from before accounts upgrades by itself. A new password ends the admin's sessions."""
        settings = self.settings
        if not settings.admin_enabled:
            return
        name = settings.admin_username
        existing = await self.users.by_name(name)
        if existing is not None and not (existing.from_settings or existing.is_admin):
            raise SettingsError(
                f"ADMIN_USERNAME={name} names an account someone signed up with; choose "
                "another ADMIN_USERNAME"
            )
        if settings.admin_password_hash:
            hashed = settings.admin_password_hash
            same = existing is not None and existing.password_hash == hashed
        else:
            same = existing is not None and await self.passwords.check(
                existing.password_hash, settings.admin_password
            )
            hashed = "" if same else await self.passwords.hash(settings.admin_password)
        if existing is None:
            admin = User(new_user_id(), name, hashed, role="admin", from_settings=True)
            try:
                await self.users.insert(admin)
                logger.info(f"admin account {one_line(name)} created from the settings")
            except DuplicateKeyError:  # another replica made it at the same moment
                pass
            return
        changes = {"role": "admin", "status": "active", "from_settings": True}
        if not same:
            changes["password_hash"] = hashed
        await self.users.update(existing.id, **changes)
        if not same:
            ended = await self.sessions.end_all(existing.id)
            logger.info(f"admin password of {one_line(name)} changed: {ended} sessions ended")
