"""The whole local stack, as `make run` starts it: app (+ embedded database) behind nginx."""

import http.client as httpclient
import json
import uuid
from pathlib import Path

import pytest
from pymongo import MongoClient

from imagehost.devstack import LocalStack
from tests.conftest import UNLIMITED, free_port
from tests.images import multipart


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

    def upload(self, data: bytes, filename: str = "cat.png", accept: str = "application/json"):
        body, ctype = multipart([("file", filename, data)])
        status, headers, payload = self.request(
            "POST", "/upload", body, {"Content-Type": ctype, "Accept": accept}
        )
        if status == 201 and accept == "application/json":
            return status, headers, json.loads(payload)
        return status, headers, payload


def stack_env(var: Path, **env: str) -> dict:
    """A stack's settings: its own VAR_DIR, rate limits lifted, and `env` on top."""
    return {"VAR_DIR": str(var), "COOKIE_SECRET": "e2e-" + "s" * 40, **UNLIMITED, **env}


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


@pytest.fixture(scope="module")
def db_stack(tmp_path_factory, mongo_uri):
    """A stack on the session's database (its own db name), so tests can read the records."""
    db = f"e2e_{uuid.uuid4().hex[:12]}"
    env = stack_env(tmp_path_factory.mktemp("dbstack"), MONGODB_URI=mongo_uri, MONGODB_DB=db)
    with LocalStack(env, app_port=free_port(), http_port=free_port()) as running:
        records = Records(mongo_uri, db)
        yield running, Http(running.http_port), records
        records.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    var = tmp_path_factory.mktemp("stack")
    env = stack_env(var, MONGODB_URI="")
    with LocalStack(env, app_port=free_port(), http_port=free_port()) as running:
        yield running


@pytest.fixture(scope="module")
def site(stack):
    return Http(stack.http_port)
