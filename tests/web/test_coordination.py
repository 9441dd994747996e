"""Leases in MongoDB: one holder at a time across replicas, freed by expiry or a dead holder."""

import asyncio
import subprocess
import sys

from imagehost import ROOT
from imagehost.coordination import Lease


def lease(ctx, seconds: float = 30, host: str = "") -> Lease:
    value = Lease(ctx.repo.client, ctx.settings.mongodb_db, "backup", seconds)
    if host:  # a replica on another machine: its pid cannot be checked from here
        value.host = host
        value.holder = f"{host}:{value.holder.split(':', 1)[1]}"
    return value


async def test_one_holder_at_a_time_until_it_releases(ctx):
    first, second = lease(ctx), lease(ctx)
    assert await first.acquire()
    assert not await second.acquire() and not await first.acquire()
    assert await first.held() and await second.held()
    await second.release()  # not its lease: nothing happens
    assert await first.held()
    await first.release()
    assert not await second.held()
    assert await second.acquire()


async def test_a_holder_elsewhere_that_stops_renewing_loses_the_lease_when_it_expires(ctx):
    elsewhere = lease(ctx, seconds=0.6, host="replica-b")
    here = lease(ctx)
    assert await elsewhere.acquire()
    await asyncio.sleep(0.4)
    assert await elsewhere.renew()
    await asyncio.sleep(0.4)
    assert not await here.acquire()  # renewed 0.4 s ago: still held
    await asyncio.sleep(0.4)
    assert not await here.held()
    assert await here.acquire()
    assert not await elsewhere.renew()  # it is here's now


async def test_a_dead_holder_on_this_host_frees_the_lease_at_once(ctx):
    script = (
        "import asyncio, sys\n"
        "from imagehost.coordination import Lease\n"
        "from imagehost.database import open_client\n"
        "async def main():\n"
        "    assert await Lease(open_client(sys.argv[1], 2000), sys.argv[2], 'backup', 60)"
        ".acquire()\n"
        "asyncio.run(main())\n"
    )
    settings = ctx.settings
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", script, settings.mongodb_uri, settings.mongodb_db],
        cwd=ctx.settings.var_dir.parent, env={"PYTHONPATH": str(ROOT)}, check=True,
    )  # fmt: skip
    assert done.returncode == 0
    here = lease(ctx)
    assert (await here.current())["expires_ms"] > 0  # its 60 s have not passed
    assert not await here.held()
    assert await here.acquire()
