"""The admin's users page: the accounts by name, a page at a time, and what the admin does to
one (disable or enable, a password-reset link shown once, delete keeping or deleting their
images, the role, the quota). Each action is a plain form whose answer is the same page again,
saying what was done: every link and form of a page carries its position (`after` or `before`
a name). The role and the quota are htmx forms too: their answer is the account's row (or its
quota) and the notice of what was done."""

from urllib.parse import urlencode

from ...accounts.service import RESET_HOURS, Removed
from ...accounts.usage import usage_by_owner, usage_of
from ...accounts.users import User
from ...i18n.languages import N_
from ...refusal import Refusal
from ...settings import USERNAME
from .admin import AdminHandler

PAGE_SIZE = 50
USER_ID = "([0-9a-f]{24})"  # accounts.users.new_user_id()


def query_of(position: dict[str, str]) -> str:
    """The query string ("?after=bob", or "") that opens the page at `position` again."""
    return "?" + urlencode(position) if position else ""


class UsersPage(AdminHandler):
    async def show(
        self,
        done: str = "",
        account: User | None = None,
        *,
        removed: Removed | None = None,
        reset_link: str = "",
        fragment: str = "",
    ) -> None:
        """The users page at the position asked for, its notice saying what was just `done` to
        `account`; htmx gets only `fragment` (of `account`) and the notice, when given."""
        notice = {
            "done": done, "account": account, "removed": removed, "reset_link": reset_link,
            "reset_hours": RESET_HOURS,
        }  # fmt: skip
        if fragment and self.wants() == "fragment":
            usage = await usage_of(self.ctx.repo, account.owner)
            self.respond(
                fragment="_admin_user_answer.html", part=fragment, user=account, usage=usage,
                here=query_of(self.position()), **notice,
            )  # fmt: skip
            return
        page = await self.ctx.accounts.users.page(PAGE_SIZE, **self.position())
        usage = await usage_by_owner(self.ctx.repo, [user.owner for user in page.users])
        self.respond(
            page="admin_users.html", users=page, usage=usage, here=query_of(page.position),
            **notice,
        )  # fmt: skip

    def position(self) -> dict[str, str]:
        """Where in the accounts the page is, from the query: {"after": name} (the page after
        that name), {"before": name} or {} (the first page)."""
        for key in ("after", "before"):
            name = self.get_query_argument(key, "")
            if name and not USERNAME.fullmatch(name):
                raise Refusal(
                    400, "malformed_request", N_("{key} is a username, not {value}"),
                    key=key, value=name,
                )  # fmt: skip
            if name:
                return {key: name}
        return {}

    def reset_link(self, token: str) -> str:
        """The one-time link (/reset/<token>) that sets an account's password."""
        return f"{self.base_url}/reset/{token}"

    async def target(self, user_id: str) -> User:
        user = await self.ctx.accounts.users.get(user_id)
        if user is None:
            raise Refusal(404, "not_found", N_("no such user"))
        return user


class UsersHandler(UsersPage):
    """GET /admin/users: the users table; POST: a new account, its set-password link shown
    this once."""

    async def get(self) -> None:
        await self.show()

    async def post(self) -> None:
        username = self.get_body_argument("username").strip()
        user, token = await self.ctx.accounts.create_user(username, self.current_user)
        await self.show("created", user, reset_link=self.reset_link(token))


class UserStatusHandler(UsersPage):
    """POST /admin/users/<id>/disable and /enable."""

    async def post(self, user_id: str, action: str) -> None:
        user = await self.target(user_id)
        await self.ctx.accounts.set_disabled(user, self.current_user, action == "disable")
        await self.show(action + "d", user)


class UserResetHandler(UsersPage):
    """POST /admin/users/<id>/reset: a one-time password-reset link, shown this once."""

    async def post(self, user_id: str) -> None:
        user = await self.target(user_id)
        token = await self.ctx.accounts.make_reset_link(user, self.current_user)
        await self.show("reset", user, reset_link=self.reset_link(token))


class UserDeleteHandler(UsersPage):
    """GET /admin/users/<id>/delete asks (keep or delete the images); POST deletes."""

    async def get(self, user_id: str) -> None:
        user = await self.target(user_id)
        usage = await usage_of(self.ctx.repo, user.owner)
        albums = await self.ctx.albums.albums.of_owner(user.owner)
        self.render(
            "admin_user_delete.html", account=user, usage=usage, albums=len(albums),
            here=query_of(self.position()),
        )  # fmt: skip

    async def post(self, user_id: str) -> None:
        user = await self.target(user_id)
        choice = self.get_body_argument("images")
        if choice not in ("keep", "delete"):
            raise Refusal(
                400, "malformed_request", N_("images is keep or delete, not {value}"),
                value=choice,
            )  # fmt: skip
        removed = await self.ctx.accounts.delete_user(
            user, self.current_user, keep_images=choice == "keep"
        )
        await self.show("deleted", user, removed=removed)


class UserRoleHandler(UsersPage):
    """POST /admin/users/<id>/role (`role`: admin or user): the account made an admin, or a
    user again."""

    async def post(self, user_id: str) -> None:
        user = await self.target(user_id)
        role = self.get_body_argument("role")
        user = await self.ctx.accounts.set_role(user, self.current_user, role)
        done = "promoted" if user.is_admin else "demoted"
        await self.show(done, user, fragment="_admin_user_row.html")


class UserQuotaHandler(UsersPage):
    """POST /admin/users/<id>/quota: the user's own limits (an empty field: the default
    again)."""

    async def post(self, user_id: str) -> None:
        user = await self.ctx.accounts.set_quota(
            user_id,
            self.get_body_argument("quota_bytes", ""),
            self.get_body_argument("quota_images_per_day", ""),
        )
        await self.show("quota", user, fragment="_admin_user_quota.html")
