"""The whole local stack, as `make run` starts it: app (+ embedded database) behind nginx."""

import http.client as httpclient
import json

import pytest

from imagehost.devstack import LocalStack
from tests.conftest import free_port
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


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    var = tmp_path_factory.mktemp("stack")
    env = {"VAR_DIR": str(var), "MONGODB_URI": "", "COOKIE_SECRET": "e2e-" + "s" * 40}
    with LocalStack(env, app_port=free_port(), http_port=free_port()) as running:
        yield running


@pytest.fixture(scope="module")
def site(stack):
    return Http(stack.http_port)
