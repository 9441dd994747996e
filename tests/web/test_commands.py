"""The maintenance commands as cron and an operator run them: `python -m imagehost ...`."""

import argon2

from imagehost.backups.layout import BACKUP_NAME
from tests.backups import MONGODUMP, add_records, raw_records, slow_copy, stored_files, wipe
from tests.cli import command_env, imagehost


async def run(settings, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    done = await imagehost(command_env(settings), *args, stdin=stdin)
    return done.returncode, done.stdout, done.stderr


async def test_backup_then_restore_from_the_command_line(ctx):
    await add_records(ctx, 4)
    records, files = await raw_records(ctx), stored_files(ctx)
    code, out, err = await run(ctx.settings, "backup")
    assert code == 0, err
    path = out.strip()
    assert BACKUP_NAME.match(path.rsplit("/", 1)[1]) and "backup written" in err

    code, _, err = await run(ctx.settings, "restore", path)
    assert code == 0 and "4 already there" in err  # the same data: nothing to do

    await add_records(ctx, 1)
    code, _, err = await run(ctx.settings, "restore", path)
    assert code == 1 and "--replace" in err and "Traceback" not in err
    code, _, err = await run(ctx.settings, "restore", "--replace", path)
    assert code == 0, err
    assert await raw_records(ctx) == records

    await ctx.repo.delete_all()
    wipe(ctx)
    code, _, err = await run(ctx.settings, "restore", path)
    assert code == 0 and "4 added" in err and "8 files written" in err
    assert await raw_records(ctx) == records and stored_files(ctx) == files
    log = (ctx.settings.logs_dir / "app.log").read_text()
    assert "backup written" in log and "restore from" in log


async def test_restore_of_a_foreign_archive_says_why_and_exits_1(ctx):
    code, _, err = await run(ctx.settings, "restore", str(MONGODUMP / "test.bar.archive.gz"))
    assert code == 1 and "test.bar" in err and "Traceback" not in err
    code, _, err = await run(ctx.settings, "restore", str(ctx.settings.var_dir / "nope"))
    assert code == 1 and "no such file" in err


async def test_a_second_backup_while_one_runs_is_refused(ctx, monkeypatch):
    await add_records(ctx, 60)
    slow_copy(monkeypatch, 0.1)
    await ctx.backups.start()
    code, _, err = await run(ctx.settings, "backup")
    assert code == 1 and "already running" in err
    assert (await ctx.backups.status()).running  # ours, still copying
    assert await ctx.backups.list_files() == []  # the command wrote nothing


async def test_hash_password_prints_an_argon2_hash_of_stdin(settings):
    code, out, _ = await run(settings, "hash-password", stdin=b"a long passphrase\n")
    assert code == 0
    assert argon2.PasswordHasher().verify(out.strip(), "a long passphrase")
    code, _, err = await run(settings, "hash-password", stdin=b"short\n")
    assert code == 1 and "at least 8" in err
