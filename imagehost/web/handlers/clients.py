"""Files for upload tools: the ShareX custom uploader (imagehost.sxcu) made for this host."""

import json
from urllib.parse import urlsplit

from ..openapi import API_PREFIX
from .base import BaseHandler


def sharex_uploader(base_url: str, expires_in: int | None = None, token: str = "") -> dict:
    """A ShareX custom uploader that posts to this host's API and reads its JSON answer; with
    `expires_in`, its uploads ask to be kept that many seconds (0: until deleted); with
    `token`, the uploads are the token owner's (and the file is a secret)."""
    # So nginx's own 413 answers JSON too, whatever the path.
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    uploader = {
        "Version": "14.0.1",
        "Name": f"imagehost ({urlsplit(base_url).netloc})",
        "DestinationType": "ImageUploader",
        "RequestMethod": "POST",
        "RequestURL": f"{base_url}{API_PREFIX}/images",
        "Headers": headers,
        "Body": "MultipartFormData",
        "FileFormName": "file",
        "URL": "{json:url}",
        "ThumbnailURL": "{json:thumbnail_url}",
        # ShareX opens it in the browser: the page asks, then deletes.
        "DeletionURL": "{json:delete_url}",
        "ErrorMessage": "{json:error}",
    }
    if expires_in is not None:
        # Form fields sent beside the file.
        uploader["Arguments"] = {"expires_in": str(expires_in)}
    return uploader


def send_sharex(handler: BaseHandler, uploader: dict) -> None:
    """Answer with `uploader` as the imagehost.sxcu download."""
    handler.set_header("Content-Type", "application/json; charset=UTF-8")
    handler.set_header("Content-Disposition", 'attachment; filename="imagehost.sxcu"')
    # A file with a token in it is kept by no cache; the anonymous one is revalidated.
    secret = "Authorization" in uploader["Headers"]
    handler.set_header("Cache-Control", "no-store" if secret else "no-cache")
    handler.finish(json.dumps(uploader, indent=2) + "\n")


class ShareXUploaderHandler(BaseHandler):
    """GET /imagehost.sxcu[?expires_in=N]: a download, RequestURL from PUBLIC_URL or the
    request's host; expires_in as the page's "delete after" chose it, checked against the
    limits of uploads without an account (ShareX sends no cookies). A signed-in user's, with
    a token in it, is made by POST /account/imagehost.sxcu."""

    def get(self) -> None:
        requested = self.get_query_argument("expires_in", None)
        expires_in = None
        if requested is not None:
            expires_in = self.ctx.settings.expiry.choose(requested, signed_in=False)
        send_sharex(self, sharex_uploader(self.base_url, expires_in))
