"""The running stack (app + embedded database behind the real nginx) and raw HTTP to it.

Used by the e2e and browser layers, mostly through the `stack` and `site` fixtures in
tests/conftest.py.
"""

import http.client as httpclient
import json
import re
import uuid
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from pymongo import MongoClient

from imagehost.accounts.sessions import SESSION_COOKIE
from imagehost.dev.devstack import LocalStack, free_port
from tests.admin import ADMIN_HASH, ADMIN_PASSWORD
from tests.cli import run_imagehost
from tests.images import multipart

# nginx's rate limits, lifted for stacks whose tests upload quickly; one test proves the limits.
UNLIMITED = {
    "UPLOAD_RATE_PER_MINUTE": "600000",
    "UPLOAD_BURST": "10000",
    "LOGIN_RATE_PER_MINUTE": "600000",
    "LOGIN_BURST": "10000",
}


def stack_env(var: Path, **env: str) -> dict:
    """A stack's settings: its own VAR_DIR, rate limits lifted, the admin area open (with
    tests.admin's password), and `env` on top."""
    return {
        "VAR_DIR": str(var),
        "COOKIE_SECRET": "e2e-" + "s" * 40,
        "ADMIN_PASSWORD_HASH": ADMIN_HASH,
        **UNLIMITED,
        **env,
    }


def start_stack(env: dict, **options) -> LocalStack:
    """The local stack on `env`, its app and nginx each on a free port (enter it to start);
    `options` are LocalStack's (app_command, output)."""
    return LocalStack(env, app_port=free_port(), http_port=free_port(), **options)


@contextmanager
def bucket_stack(var: Path, rgw, mongo_uri: str, name: str, **env: str):
    """A stack with STORAGE=s3 on a fresh bucket of the session's gateway (its policy set, as
    s3-setup does) and its own database; yields the running stack and the bucket's S3Config."""
    config = rgw.config(f"{name}-{uuid.uuid4().hex[:8]}")
    env = stack_env(
        var, MONGODB_URI=mongo_uri, MONGODB_DB=f"e2e_{uuid.uuid4().hex[:12]}",
        **rgw.env(config), **env,
    )  # fmt: skip
    setup = run_imagehost(env, "s3-setup", "--reader-ip", "127.0.0.1/32")
    assert setup.returncode == 0, setup.stderr
    with start_stack(env) as running:
        yield running, config


class Records:
    """The stack's image records, read straight from its database."""

    def __init__(self, uri: str, db: str) -> None:
        self.client = MongoClient(uri, serverSelectionTimeoutMS=5000)
        self.images = self.client[db]["images"]

    def count(self) -> int:
        return self.images.count_documents({})

    def get(self, name: str) -> dict | None:
        return self.images.find_one({"name": name}, {"_id": 0})

    def close(self) -> None:
        self.client.close()


class Http:
    """Raw HTTP to the stack (http.client keeps paths such as /images/../x as they are)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        conn = httpclient.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def upload(
        self,
        data: bytes,
        filename: str = "cat.png",
        accept: str = "application/json",
        headers: dict | None = None,
        path: str = "/upload",
    ):
        body, ctype = multipart([("file", filename, data)])
        status, got, payload = self.request(
            "POST", path, body, {"Content-Type": ctype, "Accept": accept, **(headers or {})}
        )
        if status == 201 and accept == "application/json":
            return status, got, json.loads(payload)
        return status, got, payload


def sign_in(site) -> str:
    """Sign in to the admin area through the stack's form; the Cookie header of the session."""
    status, headers, _ = site.request("GET", "/admin/login")
    xsrf = SimpleCookie(headers["Set-Cookie"])["_xsrf"].value
    body = urlencode({"password": ADMIN_PASSWORD, "_xsrf": xsrf}).encode()
    status, headers, _ = site.request(
        "POST", "/admin/login", body,
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"_xsrf={xsrf}"},
    )  # fmt: skip
    assert status == 303
    session = SimpleCookie(headers["Set-Cookie"])[SESSION_COOKIE].value
    return f"_xsrf={xsrf}; {SESSION_COOKIE}={session}"


def api_token(site: Http, cookies: str, name: str = "e2e") -> str:
    """A new API token of the signed-in browser whose Cookie header is `cookies`."""
    xsrf = cookies.split(";")[0].split("=", 1)[1]
    status, _, page = site.request(
        "POST", "/account/tokens", urlencode({"name": name, "_xsrf": xsrf}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies,
         "Accept": "text/html"},
    )  # fmt: skip
    assert status == 200, page
    return re.search(r'id="new-token"[^>]* value="([^"]+)"', page.decode()).group(1)
