"""Backups in the admin area: start one (POST /backup/), follow it, list, download, delete."""

from dataclasses import asdict

from tornado.iostream import StreamClosedError

from ...backups.service import BackupStatus
from .admin import AdminHandler

CHUNK = 256 * 1024


class BackupHandler(AdminHandler):
    """/backup/: POST starts a run (or shows the one running); GET is its progress fragment."""

    async def get(self) -> None:
        await self.answer(await self.ctx.backups.status())

    async def post(self) -> None:
        status = await self.ctx.backups.start()
        if self.is_htmx or self.wants() == "json":
            self.set_status(200 if self.is_htmx else 202)
            await self.answer(status)
        else:
            self.redirect("/admin", status=303)

    async def answer(self, status: BackupStatus) -> None:
        if self.is_htmx:
            if status.ended:
                # The list below the button refreshes itself on this event.
                self.set_header("HX-Trigger", "backups-changed")
            self.render("_backup_status.html", status=status)
        elif self.wants() == "json":
            self.finish(asdict(status))
        else:
            self.render("_backup_status.html", status=status)


class BackupListHandler(AdminHandler):
    async def get(self) -> None:
        self.render("_backup_list.html", backups=await self.ctx.backups.list_files())


class BackupFileHandler(AdminHandler):
    """Download one backup, streamed: only signed-in admins, never through /images/."""

    async def get(self, name: str) -> None:
        try:
            backup = await self.ctx.backups.open(name)
        except FileNotFoundError:
            self.fail(404, "no such backup")
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
        if self.is_htmx:
            self.render("_backup_list.html", backups=await self.ctx.backups.list_files())
        else:
            self.redirect("/admin", status=303)
