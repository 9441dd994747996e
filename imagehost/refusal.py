"""The one shape of a refused request: an HTTP status, a stable code and a message the client
is shown in their own language."""

from .i18n.formats import Translate, fill, same
from .i18n.languages import SOURCE_LANGUAGE

# Every `code` an error answer may carry, with what it means: the OpenAPI document lists them.
CODES = {
    "malformed_request": "The request is not what this URL takes (a header, field or body).",
    "not_multipart": "The body is not multipart/form-data.",
    "empty": "The file is empty.",
    "too_large": "The file, or the whole body, is over the server's limit.",
    "unsupported_format": "The file is not a JPEG, PNG or GIF.",
    "damaged": "The file is damaged, incomplete or malformed.",
    "no_pixels": "The image has no pixels.",
    "too_many_pixels": "The image (or an animation) is too big to decode: over the pixel limit.",
    "decompression_bomb": "A compressed chunk of the file unpacks to too much data.",
    "browser_cannot_decode": "The file is valid, but browsers cannot show it.",
    "invalid_expiry": "expires_in is not a whole number of seconds (0 for never).",
    "expiry_too_long": "expires_in asks to keep the image longer than this server allows.",
    "quota_bytes": "The account stores as many bytes as its quota allows (or this image would take "
    "it past); nothing was stored.",
    "quota_daily": "The account uploaded as many images in the last 24 hours as its quota allows; "
    "nothing was stored.",
    "xsrf": "The request carried the site's cookies but not its XSRF token.",
    "missing_delete_token": "The delete token was not sent.",
    "wrong_delete_token": "The delete token does not match the image.",
    "origin_not_allowed": "Cross-origin requests from this origin are not allowed.",
    "sign_in_required": "This needs a sign-in (or an API token): the admin area, and uploads "
    "when ANONYMOUS_UPLOADS is false.",
    "bad_token": "The Bearer token is unknown or revoked, or its account is disabled.",
    "wrong_credentials": "The username or the password is wrong (which one is not said).",
    "account_disabled": "The account is disabled.",
    "account_gone": "The account that signed the request in was deleted or disabled while it ran; "
    "nothing was kept.",
    "password_from_settings": "The admin's password is set by ADMIN_PASSWORD(_HASH), not here.",
    "admin_only": "Only an admin may do this.",
    "registration_closed": "The site takes no sign-ups (REGISTRATION=closed).",
    "bad_invite": "The invite link is unknown, used up or expired.",
    "bad_reset": "The password-reset link is unknown, used up, replaced or expired.",
    "own_account": "An admin may not disable, delete or demote their own account.",
    "last_admin": "The account is the last active admin; the site would have none.",
    "account_from_settings": "The admin account that ADMIN_PASSWORD(_HASH) makes at every start.",
    "bad_username": "The username is not 1-32 of A-Z a-z 0-9 . _ -, led by a letter or digit.",
    "bad_password": "The password is too short or too long, or the two typed differ.",
    "username_taken": "An account of that name (ignoring case) exists.",
    "admin_closed": "The admin area is closed: no admin password is set.",
    "unsupported_language": "The site does not speak that language.",
    "not_found": "There is nothing at this URL, or no image of that name.",
    "method_not_allowed": "This URL does not take that method.",
    "rate_limited": "Too many requests from this address; Retry-After says when to try again.",
    "database_unavailable": "The database is unavailable; nothing was changed.",
    "storage_full": "The server's image storage is full; nothing was stored.",
    "server_error": "Something failed on the server.",
    "app_unavailable": "The web server's application is not answering (starting, restarting or "
    "down); try again shortly.",
}


class Refusal(ValueError):
    """Refused input. `status` is the HTTP status; `code` names the reason for programs
    (`too_large`, `unsupported_format`, `damaged`: stable, in the OpenAPI document); the
    message is an English sentence marked with N_() for the catalogue, its {placeholders}
    filled from `values` (see i18n.formats.fill). `message` is it in English (logs)."""

    def __init__(self, status: int, code: str, message: str, **values) -> None:
        assert code in CODES, code
        super().__init__(fill(message, values, SOURCE_LANGUAGE))
        self.status = status
        self.code = code
        self.template = message
        self.values = values

    @property
    def message(self) -> str:
        return str(self)

    def text(self, language: str, translate: Translate = same) -> str:
        """The message in `language`, through its catalogue."""
        return fill(self.template, self.values, language, translate)
