"""Files for upload tools: the ShareX custom uploader (imagehost.sxcu) made for this host."""

import json
from urllib.parse import urlsplit

from ..openapi import API_PREFIX
from .base import BaseHandler


def sharex_uploader(base_url: str) -> dict:
    """A ShareX custom uploader that posts to this host's API and reads its JSON answer."""
    return {
        "Version": "14.0.1",
        "Name": f"imagehost ({urlsplit(base_url).netloc})",
        "DestinationType": "ImageUploader",
        "RequestMethod": "POST",
        "RequestURL": f"{base_url}{API_PREFIX}/images",
        # So nginx's own 413 answers JSON too, whatever the path.
        "Headers": {"Accept": "application/json"},
        "Body": "MultipartFormData",
        "FileFormName": "file",
        "URL": "{json:url}",
        "ThumbnailURL": "{json:thumbnail_url}",
        # ShareX opens it in the browser: the page asks, then deletes.
        "DeletionURL": "{json:delete_url}",
        "ErrorMessage": "{json:error}",
    }


class ShareXUploaderHandler(BaseHandler):
    """GET /imagehost.sxcu: a download, RequestURL from PUBLIC_URL or the request's host."""

    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Content-Disposition", 'attachment; filename="imagehost.sxcu"')
        self.set_header("Cache-Control", "no-cache")
        self.finish(json.dumps(sharex_uploader(self.base_url), indent=2) + "\n")
