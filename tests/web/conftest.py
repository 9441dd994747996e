"""The real app with the embedded database, served on a free port in the test's event loop."""

from contextlib import asynccontextmanager

import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from imagehost.app import make_app
from imagehost.server import build_context


class Client:
    """A small HTTP client for the tests: never raises on 4xx/5xx."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = AsyncHTTPClient(force_instance=True)

    async def request(self, method: str, path: str, **kwargs):
        kwargs.setdefault("raise_error", False)
        kwargs.setdefault("follow_redirects", False)
        if method in ("POST", "PUT") and "body" not in kwargs:
            kwargs["body"] = b""
        return await self.http.fetch(self.base + path, method=method, **kwargs)

    async def upload(
        self, body: bytes, content_type: str, accept: str = "*/*", headers=None, path="/upload"
    ):
        all_headers = {"Content-Type": content_type, "Accept": accept, **(headers or {})}
        return await self.request("POST", path, body=body, headers=all_headers)


@pytest.fixture
async def ctx(settings):
    async with build_context(settings) as context:
        await context.repo.ensure_indexes()
        yield context


@pytest.fixture
async def app(ctx):
    return make_app(ctx, ctx.settings.cookie_secret)


@asynccontextmanager
async def serving(app, settings):
    """Serve `app` on a free port as server.py does; yields a Client for it."""
    sockets = bind_sockets(0, "127.0.0.1")
    port = sockets[0].getsockname()[1]
    server = HTTPServer(app, xheaders=True, max_body_size=settings.max_body_bytes)
    server.add_sockets(sockets)
    http = Client(f"http://127.0.0.1:{port}")
    try:
        yield http
    finally:
        http.http.close()
        server.stop()
        await server.close_all_connections()


@pytest.fixture
async def client(app, ctx):
    async with serving(app, ctx.settings) as http:
        yield http
