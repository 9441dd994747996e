"""Accounts: sign-up (by the REGISTRATION setting), sign-in slowed after failures, sessions,
and the admin account that ADMIN_PASSWORD or ADMIN_PASSWORD_HASH sets at start-up."""

import asyncio
from concurrent.futures import Executor

from loguru import logger
from pymongo import AsyncMongoClient

from ..coordination import LoginFailures
from ..database import DuplicateKeyError
from ..i18n.languages import N_
from ..logsetup import one_line
from ..refusal import Refusal
from ..settings import MIN_ADMIN_PASSWORD, USERNAME, Settings, SettingsError
from .invites import InviteStore
from .passwords import Passwords
from .sessions import SessionStore
from .tokens import TokenStore
from .users import User, UserRepository, new_user_id, now_ms, username_key

# Failures of one address or one name are forgotten after this long without another one.
FAILURE_WINDOW = 15 * 60
MIN_PASSWORD = MIN_ADMIN_PASSWORD
# argon2 takes any length; a bound keeps a megabyte "password" from costing more.
MAX_PASSWORD = 1024
# Last seen is written at most this often per user, not on every request.
SEEN_EVERY_MS = 5 * 60 * 1000
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
        failure_delay: float = 1.0,
        max_delay: float = 30.0,
    ) -> None:
        self.settings = settings
        db = settings.mongodb_db
        self.users = UserRepository(client, db)
        self.sessions = SessionStore(client, db)
        self.invites = InviteStore(client, db)
        self.tokens = TokenStore(client, db)
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
        await self.sync_admin()

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
        if not USERNAME.fullmatch(username):
            raise Refusal(
                400, "bad_username",
                N_("a username is 1 to 32 letters (A-Z), digits and . _ -, starting with a "
                   "letter or digit"),
            )  # fmt: skip
        check_new_password(password)
        # Hashed before the name is looked up: a taken name answers in the same time.
        user = User(new_user_id(), username, await self.passwords.hash(password))
        try:
            await self.users.insert(user)
        except DuplicateKeyError:
            raise Refusal(409, "username_taken", N_("that username is taken")) from None
        if mode == "invite" and not await self.invites.use(invite):
            await self.users.delete(user.id)  # used by another sign-up meanwhile
            raise bad_invite()
        logger.info(f"sign-up user={one_line(username)} registration={mode}")
        return user

    async def change_password(self, user: User, current: str, new: str, keep: str) -> int:
        """Set `user`'s password to `new` if `current` is theirs; every session but `keep`
        (the one asking) ends. Returns how many ended. API tokens stay (revoke them apart)."""
        if user.from_settings:
            raise Refusal(
                403, "password_from_settings",
                N_("this account's password is set by ADMIN_PASSWORD or ADMIN_PASSWORD_HASH: "
                   "change it there and restart"),
            )  # fmt: skip
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
            await self.users.update(user.id, last_seen_ms=now)
        return user

    async def admin_exists(self) -> bool:
        return await self.users.admin_exists()

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
