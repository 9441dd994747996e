"""Signing up, in and out (the sign-in moves this browser's anonymous uploads into the
account), and the account page: API tokens and the ShareX uploader that carries one.

The forms answer with themselves and the reason when refused; a session is a random id in an
HttpOnly, SameSite=Lax cookie, its hash in MongoDB.
"""

from urllib.parse import quote

from loguru import logger

from ...accounts.quotas import standing
from ...accounts.sessions import SESSION_COOKIE
from ...accounts.users import User
from ...i18n.languages import LANGUAGES, N_
from ...logsetup import one_line
from ...ownership import adopt
from ...refusal import Refusal
from .base import LANGUAGE_COOKIE, OWNER_COOKIE, BaseHandler
from .clients import send_sharex, sharex_uploader
from .pages import same_site_path

# After a sign-in, the gallery says how many images it moved (a one-time signed cookie).
MOVED_COOKIE = "moved"
TOKEN_NAME = N_("API token")  # a token made without a name


class AccountForm(BaseHandler):
    """What the sign-in and sign-up forms share: no caching, a refusal shown on the form."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")

    def refused(self, template: str, refusal: Refusal, **args) -> None:
        """The form again, with why it was refused (and the refusal's status)."""
        self.set_status(refusal.status)
        self.render(template, error=refusal.text(self.locale.code, self.locale.translate), **args)

    def secure_cookies(self) -> bool:
        return (
            self.ctx.settings.public_url.startswith("https://") or self.request.protocol == "https"
        )

    async def begin_session(self, user: User) -> None:
        """Sign this browser in as `user`, moving its anonymous uploads into the account."""
        moved = await adopt(self.ctx, self.anonymous_owner(), user.owner)
        raw = await self.ctx.accounts.start_session(user)
        seconds = self.ctx.accounts.session_seconds(user)
        self.set_cookie(
            SESSION_COOKIE, raw, expires_days=seconds / 86400, httponly=True, samesite="Lax",
            secure=self.secure_cookies(),
        )  # fmt: skip
        if self.get_cookie(OWNER_COOKIE):
            self.clear_cookie(OWNER_COOKIE)  # a fresh anonymous id after signing out
        await self.carry_language(user)
        if moved["images"]:
            self.set_signed_cookie(
                MOVED_COOKIE, str(moved["images"]), expires_days=1, httponly=True,
                samesite="Lax", secure=self.secure_cookies(),
            )  # fmt: skip

    async def carry_language(self, user: User) -> None:
        """The account's language becomes this browser's too (it stays after signing out);
        an account without one takes the choice this browser made before signing in."""
        if user.language in LANGUAGES:
            self.keep_language(user.language)
        elif (chosen := self.get_cookie(LANGUAGE_COOKIE, "")) in LANGUAGES:
            await self.ctx.accounts.set_language(user, chosen)


class SignInHandler(AccountForm):
    """`/signin`: a username and password; back to `next` (a page of this site) after."""

    template = "signin.html"
    action = "/signin"

    def default_next(self) -> str:
        return "/"

    def safe_next(self, url: str) -> str:
        return same_site_path(url) if url else self.default_next()

    def form(self, **args) -> dict:
        return {"action": self.action, "username": "", **args}

    def submitted_username(self) -> str:
        return self.get_body_argument("username", "").strip()

    def get(self) -> None:
        next_url = self.safe_next(self.get_argument("next", ""))
        self.render(self.template, error="", **self.form(next_url=next_url))

    async def post(self) -> None:
        username = self.submitted_username()
        password = self.get_body_argument("password", "")
        next_url = self.safe_next(self.get_body_argument("next", ""))
        try:
            user = await self.ctx.accounts.sign_in(username, password, self.request.remote_ip or "")
        except Refusal as refusal:
            self.refused(self.template, refusal, **self.form(username=username, next_url=next_url))
            return
        await self.begin_session(user)
        self.respond(redirect=next_url)


class SignOutHandler(BaseHandler):
    """POST `/signout` (and the admin's `/admin/logout`): the session ends in every process."""

    after = "/"

    async def post(self) -> None:
        raw = self.get_cookie(SESSION_COOKIE)
        if raw:
            await self.ctx.accounts.sessions.end(raw)
        self.clear_cookie(SESSION_COOKIE)
        self.respond(redirect=self.after)


class SignUpHandler(AccountForm):
    """`/signup` (REGISTRATION=open) and `/invite/<token>` (an admin's one-time link)."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        # An invite's URL holds its token: it must not leave in a Referer.
        self.set_header("Referrer-Policy", "no-referrer")

    def page(self, invite: str = "", **args) -> None:
        mode = self.ctx.settings.registration
        self.render("signup.html", mode=mode, invite=invite, username="", error="", **args)

    async def get(self, invite: str = "") -> None:
        if invite and not await self.ctx.accounts.invites.valid(invite):
            self.set_status(403)
            self.page(invite_gone=True)
            return
        self.page(invite, invite_gone=False)

    async def post(self, invite: str = "") -> None:
        invite = invite or self.get_body_argument("invite", "")
        username = self.get_body_argument("username", "").strip()
        password = self.get_body_argument("password", "")
        if password != self.get_body_argument("password2", password):
            self.refused("signup.html", Refusal(
                400, "bad_password", N_("the two passwords differ; type the same one twice")
            ), mode=self.ctx.settings.registration, invite=invite, username=username,
                invite_gone=False)  # fmt: skip
            return
        try:
            user = await self.ctx.accounts.sign_up(username, password, invite)
        except Refusal as refusal:
            self.refused(
                "signup.html", refusal, mode=self.ctx.settings.registration, invite=invite,
                username=username, invite_gone=refusal.code == "bad_invite",
            )  # fmt: skip
            return
        await self.begin_session(user)
        self.respond(redirect="/")


class PasswordResetHandler(AccountForm):
    """`/reset/<token>`: the admin's one-time link; a new password, typed twice, signs out
    every session of the account and signs this browser in."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Referrer-Policy", "no-referrer")  # the URL holds the token

    async def get(self, token: str) -> None:
        user = await self.ctx.accounts.user_for_reset(token)
        self.render("reset.html", error="", username=user.username, token=token)

    async def post(self, token: str) -> None:
        user = await self.ctx.accounts.user_for_reset(token)
        new = self.get_body_argument("password", "")
        try:
            if new != self.get_body_argument("password2", new):
                raise Refusal(
                    400, "bad_password", N_("the two passwords differ; type the same one twice")
                )
            user = await self.ctx.accounts.reset_password(token, new)
        except Refusal as refusal:
            self.refused("reset.html", refusal, username=user.username, token=token)
            return
        await self.begin_session(user)
        self.respond(redirect="/")


class SignedInPage(AccountForm):
    """Pages of the signed-in user: others are sent to sign in (or refused, for a POST)."""

    async def prepare(self) -> None:
        await super().prepare()
        if self.current_user is not None:
            return
        if self.request.method in ("GET", "HEAD") and self.wants() == "page":
            self.redirect("/signin?next=" + quote(self.request.uri or "/account"))
            return
        raise Refusal(401, "sign_in_required", N_("sign in first, at /signin"))

    async def account_page(self, new_token: str = "", changed: int = 0) -> dict:
        """What account.html shows; `changed` is 1 + the sessions a password change ended."""
        user = self.current_user
        tokens = await self.ctx.accounts.tokens.of_user(user.id)
        where = await standing(self.ctx.repo, user, self.ctx.settings.quota)
        return {"tokens": tokens, "new_token": new_token, "changed": changed, "standing": where}


class AccountHandler(SignedInPage):
    """GET /account: the user's API tokens and upload tools."""

    async def get(self) -> None:
        self.render("account.html", error="", **await self.account_page())


class PasswordHandler(SignedInPage):
    """POST /account/password: a new password; the user's other sessions end."""

    async def post(self) -> None:
        new = self.get_body_argument("password", "")
        try:
            if new != self.get_body_argument("password2", new):
                raise Refusal(
                    400, "bad_password", N_("the two passwords differ; type the same one twice")
                )
            ended = await self.ctx.accounts.change_password(
                self.current_user, self.get_body_argument("current", ""), new,
                keep=self.get_cookie(SESSION_COOKIE, ""),
            )  # fmt: skip
        except Refusal as refusal:
            self.refused("account.html", refusal, **await self.account_page())
            return
        self.render("account.html", error="", **await self.account_page(changed=ended + 1))


class TokensHandler(SignedInPage):
    """POST /account/tokens: a new token with the name given, its secret shown this once."""

    async def post(self) -> None:
        name = self.get_body_argument("name", "").strip() or self.locale.translate(TOKEN_NAME)
        raw, token = await self.ctx.accounts.tokens.create(self.current_user.id, name)
        logger.info(f"api token made user={one_line(self.current_user.username)} id={token.id}")
        self.respond(
            fragment="_tokens.html", page="account.html", error="", **await self.account_page(raw)
        )


class TokenDeleteHandler(SignedInPage):
    """POST /account/tokens/<id>/delete: the token stops working at once."""

    async def post(self, token_id: str) -> None:
        if await self.ctx.accounts.tokens.revoke(self.current_user.id, token_id):
            logger.info(
                f"api token revoked user={one_line(self.current_user.username)} id={token_id}"
            )
        self.respond(fragment="_tokens.html", redirect="/account", **await self.account_page())


class ShareXTokenHandler(SignedInPage):
    """POST /account/imagehost.sxcu: the ShareX uploader with a new token of its own in it."""

    async def post(self) -> None:
        raw, token = await self.ctx.accounts.tokens.create(self.current_user.id, "ShareX")
        logger.info(f"api token made user={one_line(self.current_user.username)} id={token.id}")
        send_sharex(self, sharex_uploader(self.base_url, token=raw))
