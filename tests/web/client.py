"""The web layer's HTTP client: the app served on a free port, and the browsers the tests play
(a visitor with its cookies and XSRF token, an admin who signs in)."""

import json
from contextlib import asynccontextmanager
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from tests.admin import ADMIN_PASSWORD
from tests.images import multipart

JSON = "application/json"


class Visitor:
    """A browser as the server sees it: the cookies it got from GET / and its XSRF token."""

    def __init__(self, client: "Client", cookies: dict[str, str], xsrf: str) -> None:
        self.client = client
        self.cookies = cookies
        self.xsrf = xsrf

    @property
    def owner_cookie(self) -> str:
        return self.cookies["owner"]

    def headers(self, htmx: bool = False, xsrf: bool = True, **extra: str) -> dict:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **extra}
        if xsrf:
            headers["X-XSRFToken"] = self.xsrf
        if htmx:
            headers["HX-Request"] = "true"
        return headers

    async def get(self, path: str, htmx: bool = False):
        return await self.client.request("GET", path, headers=self.headers(htmx))

    async def upload(self, data: bytes, filename: str = "cat.png", htmx: bool = True):
        return await self.client.upload_file(data, filename, headers=self.headers(htmx))

    async def submit_form(self, data: bytes, filename: str = "cat.png"):
        """The plain form, without JavaScript: the token in the _xsrf field, HTML wanted."""
        body, ctype = multipart([("_xsrf", None, self.xsrf.encode()), ("file", filename, data)])
        headers = self.headers(xsrf=False)
        return await self.client.upload(body, ctype, accept="text/html", headers=headers)


class AdminSession(Visitor):
    """A visitor of the admin area: keeps the cookies the server sets (sign-in, sign-out)."""

    async def request(self, method: str, path: str, *, xsrf: bool = True, htmx: bool = False,
                      form: dict | None = None, headers: dict | None = None, **kwargs):  # fmt: skip
        sent = self.headers(htmx=htmx, xsrf=xsrf and method != "GET", Accept="text/html")
        sent.update(headers or {})
        if form is not None:
            kwargs["body"] = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        response = await self.client.request(method, path, headers=sent, **kwargs)
        for header in response.headers.get_list("Set-Cookie"):
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and "1970" not in morsel["expires"]:
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)  # cleared
        return response

    async def login(self, password: str = ADMIN_PASSWORD):
        return await self.request("POST", "/admin/login", form={"password": password})


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

    async def upload_file(self, data: bytes, filename: str = "cat.png", **options):
        """`data` sent as the form's one file (`options` as for `upload`)."""
        body, ctype = multipart([("file", filename, data)])
        return await self.upload(body, ctype, **options)

    async def uploaded(self, data: bytes, filename: str = "cat.png", **options) -> dict:
        """An upload that must be taken: its JSON answer."""
        response = await self.upload_file(data, filename, **{"accept": JSON, **options})
        assert response.code == 201, response.body
        return json.loads(response.body)

    async def visit(self) -> Visitor:
        """A new visitor: open the page, keep its cookies and the form's XSRF token."""
        page = await self.request("GET", "/")
        cookies = dict(c.split(";")[0].split("=", 1) for c in page.headers.get_list("Set-Cookie"))
        xsrf = page.body.decode().split('name="_xsrf" value="')[1].split('"')[0]
        return Visitor(self, cookies, xsrf)


async def new_browser(client) -> AdminSession:
    """A new browser that has opened the main page (its owner cookie and XSRF token kept)."""
    visited = await client.visit()
    return AdminSession(client, visited.cookies, visited.xsrf)


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
