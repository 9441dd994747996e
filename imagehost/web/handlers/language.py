"""The language switcher: POST /language keeps the reader's choice in a cookie."""

from ...i18n.languages import LANGUAGES
from ...refusal import Refusal
from .base import LANGUAGE_COOKIE, BaseHandler

ONE_YEAR_DAYS = 365


def same_site_path(url: str) -> str:
    """Where to go back to: a path on this site, never another host."""
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return "/"


class LanguageHandler(BaseHandler):
    def post(self) -> None:
        language = self.get_body_argument("language", "")
        if language not in LANGUAGES:
            raise Refusal(400, f"no such language; this site speaks {', '.join(LANGUAGES)}")
        self.set_cookie(
            LANGUAGE_COOKIE, language, expires_days=ONE_YEAR_DAYS, httponly=True,
            samesite="Lax", secure=self.request.protocol == "https",
        )  # fmt: skip
        self.redirect(same_site_path(self.get_body_argument("next", "/")), status=303)
