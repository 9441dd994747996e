"""Backups in the admin area: start one (POST /backup/), follow it, list, download, delete."""

from dataclasses import asdict

from tornado.iostream import StreamClosedError

from ...backups.status import BackupStatus
from ...i18n.languages import N_
from ...refusal import Refusal
from .admin import AdminHandler

CHUNK = 256 * 1024


class BackupHandler(AdminHandler):
    """/backup/: POST starts a run (or shows the one running); GET is its progress fragment."""

    async def get(self) -> None:
        self.answer(await self.ctx.backups.status())

    async def post(self) -> None:
        status = await self.ctx.backups.start()
        if self.wants() == "json":
            self.set_status(202)  # accepted: the run goes on, GET /backup/ follows it
        self.answer(status, redirect="/admin")

    def answer(self, status: BackupStatus, redirect: str | None = None) -> None:
        if status.ended:
            # The list below the button refreshes itself on this event.
            self.set_header("HX-Trigger", "backups-changed")
        self.respond(
            fragment="_backup_status.html", json=asdict(status), redirect=redirect, status=status
        )


class BackupListHandler(AdminHandler):
    async def get(self) -> None:
        self.respond(fragment="_backup_list.html", backups=await self.ctx.backups.list_files())


class BackupFileHandler(AdminHandler):
    """Download one backup, streamed: only signed-in admins, never through /images/."""

    async def get(self, name: str) -> None:
        try:
            backup = await self.ctx.backups.open(name)
        except FileNotFoundError:
            raise Refusal(404, "not_found", N_("no such backup")) from None
        try:
            self.set_header("Content-Type", "application/x-tar")
            self.set_header("Content-Disposition", f'attachment; filename="{name}"')
            self.set_header("Content-Length", str(backup.size))
            while chunk := await backup.read(CHUNK):
                self.write(chunk)
                await self.flush()
        except StreamClosedError:
            return
        finally:
            backup.close()
        self.finish()


class BackupDeleteHandler(AdminHandler):
    async def post(self, name: str) -> None:
        await self.ctx.backups.delete(name)
        backups = await self.ctx.backups.list_files()
        self.respond(fragment="_backup_list.html", redirect="/admin", backups=backups)
