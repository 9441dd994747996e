"""The bare baseline of the upload benchmark, run behind the project's own nginx config.

One Tornado handler that writes the request body to a file and answers with its name: no
parsing, no checks, no thumbnail, no database. It reads the app's PORT, WORKERS and IMAGES_DIR.
"""

import asyncio
import os
import secrets
import signal
import sys

import tornado.netutil
from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler, stream_request_body

from imagehost.settings import load_settings


@stream_request_body
class BareUploadHandler(RequestHandler):
    def initialize(self, folder: str) -> None:
        self.folder = folder

    def prepare(self) -> None:
        self.name = secrets.token_urlsafe(12)
        self.file = open(os.path.join(self.folder, self.name), "wb")  # noqa: SIM115

    def data_received(self, chunk: bytes) -> None:
        self.file.write(chunk)

    def post(self) -> None:
        self.file.close()
        self.set_status(201)
        self.finish(self.name + "\n")

    def on_connection_close(self) -> None:
        self.file.close()


class HealthHandler(RequestHandler):
    def get(self) -> None:
        self.finish({"status": "ok"})


async def serve(sockets: list, folder: str, max_body: int) -> None:
    app = Application([
        (r"/upload", BareUploadHandler, {"folder": folder}),
        (r"/healthz", HealthHandler),
    ])  # fmt: skip
    server = HTTPServer(app, xheaders=True, max_body_size=max_body)
    server.add_sockets(sockets)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


def main() -> int:
    settings = load_settings()
    settings.images_dir.mkdir(parents=True, exist_ok=True)
    sockets = tornado.netutil.bind_sockets(settings.port, settings.host)
    args = (sockets, str(settings.images_dir), settings.max_body_bytes)
    if settings.workers == 1:
        asyncio.run(serve(*args))
        return 0
    children = []
    for _ in range(settings.workers):
        pid = os.fork()
        if pid == 0:
            asyncio.run(serve(*args))
            os._exit(0)
        children.append(pid)

    def forward(signum, frame) -> None:
        for pid in children:
            os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    for pid in children:
        os.waitpid(pid, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
