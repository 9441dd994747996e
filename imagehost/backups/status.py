"""A backup run's status as every worker reads it: stable keys and numbers, never sentences, so
each reader sees it in their own language (`phase_text`, `outcome_text`); logs take English."""

from dataclasses import dataclass

from ..i18n.formats import Translate, image_count, number, same

# The phases of a run, in order.
STARTING = "starting"
COPYING = "copying"  # the images; `seen` of `total` records looked at so far
ARCHIVE = "archive"  # the records as a mongodump archive
MANIFEST = "manifest"
FINISHING = "finishing"
DONE = "done"

# Why a run ended without a backup (`message`); ERROR comes with the error's own `detail`.
INTERRUPTED = "interrupted"  # its process ended before it finished
APP_STOPPED = "app_stopped"
LEASE_LOST = "lease_lost"
ERROR = "error"


@dataclass(frozen=True)
class BackupStatus:
    """The last run as every worker sees it (BACKUP_DIR/.backup-status.json)."""

    state: str = "idle"  # idle, running, done, failed, interrupted
    phase: str = ""  # one of the phases above
    percent: int = 0
    seen: int = 0  # records looked at, of `total` expected (an estimate), while copying
    total: int = 0
    file: str = ""
    records: int = 0  # a finished run's counts: records kept, their files, records left out
    files: int = 0
    left_out: int = 0
    message: str = ""  # why a run ended without a backup: one of the reasons above
    detail: str = ""  # the error's own words (English, as the exception gives them) for ERROR
    started: str = ""
    finished: str = ""
    pid: int = 0

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def ended(self) -> bool:
        return self.state in ("done", "failed", "interrupted")


def phase_text(status: BackupStatus, language: str, translate: Translate = same) -> str:
    """What the run is doing: "3 images of 5 copied", "скопировано 3 изображения из 5"."""
    _ = translate
    if status.phase == COPYING:
        seen, total = number(status.seen, language), number(status.total, language)
        text = _("{seen} image of {total} copied", "{seen} images of {total} copied", status.seen)
        return text.format(seen=seen, total=total)
    phases = {
        STARTING: _("starting"),
        ARCHIVE: _("writing the database archive"),
        MANIFEST: _("writing the manifest"),
        FINISHING: _("finishing"),
        DONE: _("done"),
    }
    # A status written by an older version holds its phase as English text.
    return phases.get(status.phase, status.phase)


def outcome_text(status: BackupStatus, language: str, translate: Translate = same) -> str:
    """A finished run's counts, or why a run ended without a backup."""
    _ = translate
    if status.state == "done":
        files = _("{count} file", "{count} files", status.files)
        text = _("{images}, {files}").format(
            images=image_count(status.records, language, translate),
            files=files.format(count=number(status.files, language)),
        )
        if status.left_out:
            # No trailing comma: Babel would count it as a fourth argument (the keyword is
            # _:1,2,3t) and leave the message out of the catalogue.
            left_out = _(
                "{count} image deleted or changed during the backup was left out",
                "{count} images deleted or changed during the backup were left out",
                status.left_out
            )  # fmt: skip
            text = _("{counts}; {left_out}").format(
                counts=text, left_out=left_out.format(count=number(status.left_out, language))
            )
        return text
    reasons = {
        INTERRUPTED: _("the backup stopped before it finished (its process ended)"),
        APP_STOPPED: _("the app stopped during the backup"),
        LEASE_LOST: _("the backup lost its lease (the database was out of reach too long)"),
        ERROR: status.detail,  # the error's own words, as the log has them
    }
    return reasons.get(status.message, status.message)
