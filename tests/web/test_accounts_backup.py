"""Accounts in backups: the archive carries `users`, `api_tokens` and `invites` with their
indexes (the invites' TTL one too), never sessions, reset links or sign-in failures; after a
restore, by ours or as mongorestore does it, a user signs in with their password and their
token uploads."""

import json

import bson
import pytest
from bson import json_util
from bson.codec_options import CodecOptions

from imagehost.backups.restore import restore
from tests.admin import ADMIN_PASSWORD
from tests.albums import album_names
from tests.backups import members, wipe
from tests.unit.mongodump_reader import parse_archive
from tests.web import accounts
from tests.web.client import new_browser

ACCOUNTS = ("users", "api_tokens", "invites")
LEFT_OUT = ("sessions", "password_resets", "login_failures")
EVERYTHING = ("images", "albums", "album_images", *ACCOUNTS, *LEFT_OUT)
AWARE = CodecOptions(tz_aware=True)


def database(ctx):
    return ctx.repo.client[ctx.settings.mongodb_db]


async def documents(ctx, names=ACCOUNTS) -> dict[str, list[dict]]:
    db = database(ctx).with_options(codec_options=AWARE)
    return {name: await db[name].find({}).sort("_id", 1).to_list() for name in names}


async def lose_everything(ctx) -> None:
    """Every collection dropped (indexes and all) and every file gone: a new machine."""
    for name in EVERYTHING:
        await database(ctx).drop_collection(name)
    wipe(ctx)


async def backup_path(ctx):
    return ctx.backups.path((await ctx.backups.run()).name)


@pytest.fixture
async def alice(ctx, client):
    """Alice signed up, with an API token, an image uploaded by it, a pending invite, a
    password-reset link, a failed sign-in of someone else's: every accounts collection holds
    something."""
    accounts.reconfigure(ctx, registration="open")
    browser, token = await accounts.user_with_token(client)
    uploaded = await accounts.token_upload(client, token)
    assert uploaded.code == 201, uploaded.body
    await ctx.accounts.invites.create("admin", 3600)
    user = await ctx.accounts.users.by_name("alice")
    await ctx.accounts.resets.create(user.id, "admin", 3600)
    await ctx.accounts.failures.add("ip:192.0.2.1")
    for name in ("images", *ACCOUNTS, *LEFT_OUT):
        assert await database(ctx)[name].count_documents({}), name
    return browser, token, json.loads(uploaded.body)["name"]


async def index_on(collection, field: str) -> dict:
    info = await collection.index_information()
    (index,) = [i for i in info.values() if i["key"] == [(field, 1)]]
    return index


async def has_the_accounts_indexes(db) -> None:
    # (nx-27017 names the indexes its own way: they are found by their keys.)
    assert (await index_on(db["invites"], "expires_at"))["expireAfterSeconds"] == 0
    assert (await index_on(db["users"], "username_key"))["unique"] is True
    assert (await index_on(db["api_tokens"], "public_id"))["unique"] is True


async def own_images(client, token: str) -> list[str]:
    headers = {**accounts.bearer(token), "Accept": "application/json"}
    response = await client.request("GET", "/api/v1/me/images", headers=headers)
    assert response.code == 200, response.body
    return [image["name"] for image in json.loads(response.body)["images"]]


async def signs_in_and_uploads(ctx, client, token: str, username: str = "alice") -> None:
    """A new browser signs in with the password; the token uploads into the account."""
    browser = await new_browser(client)
    response = await accounts.sign_in(browser, username)
    assert response.code == 303, accounts.body(response)
    assert (await accounts.signed_in_as(browser)).lower() == username
    user = await ctx.accounts.users.by_name(username)
    uploaded = await accounts.token_upload(client, token)
    assert uploaded.code == 201, uploaded.body
    record = await ctx.repo.get(json.loads(uploaded.body)["name"])
    assert record.owner == user.owner


async def test_the_archive_holds_the_accounts_with_their_indexes_but_no_sessions(ctx, alice):
    parsed = parse_archive(members(await backup_path(ctx))["mongodump.archive.gz"])
    db = ctx.settings.mongodb_db
    stored = await documents(ctx)
    for name in ACCOUNTS:
        kept = [bson.decode(raw, AWARE) for raw in parsed.documents[f"{db}.{name}"]]
        assert kept == stored[name] and kept
    indexes = {
        name: {i["name"]: i for i in parsed.metadata[f"{db}.{name}"]["indexes"]}
        for name in ACCOUNTS
    }
    assert set(indexes["users"]) == {"_id_", "username_unique"}
    assert indexes["users"]["username_unique"]["unique"] is True
    assert set(indexes["api_tokens"]) == {"_id_", "user_created", "public_id"}
    assert indexes["api_tokens"]["public_id"]["unique"] is True
    assert set(indexes["invites"]) == {"_id_", "expires_ttl"}
    assert indexes["invites"]["expires_ttl"]["expireAfterSeconds"] == {"$numberInt": "0"}
    for name in LEFT_OUT:
        assert f"{db}.{name}" not in parsed.metadata


async def test_after_a_restore_the_user_signs_in_and_the_token_uploads(ctx, client, alice):
    old_browser, token, name = alice
    before = await documents(ctx)
    path = await backup_path(ctx)
    await lose_everything(ctx)
    assert (await accounts.sign_in(await new_browser(client), "alice")).code == 401
    assert (await accounts.token_upload(client, token)).code == 401

    report = await restore(path, ctx.repo, ctx.storage)
    await has_the_accounts_indexes(database(ctx))
    assert {k: report.collections[k] for k in ACCOUNTS} == {
        "users": 2, "api_tokens": 1, "invites": 1  # users: alice and the admin
    }  # fmt: skip
    assert report.collections_added == report.collections
    assert await documents(ctx) == before
    again = await restore(path, ctx.repo, ctx.storage)
    assert {k: again.collections_added[k] for k in ACCOUNTS} == dict.fromkeys(ACCOUNTS, 0)
    assert await documents(ctx) == before

    await signs_in_and_uploads(ctx, client, token)
    assert name in await own_images(client, token)  # the image kept its owner
    assert len(await ctx.accounts.invites.pending()) == 1
    # Sessions are not in backups: the browser signed in before must sign in again.
    assert await accounts.signed_in_as(old_browser) == ""
    for name in ("password_resets", "login_failures"):
        assert await database(ctx)[name].count_documents({}) == 0


async def test_replace_makes_the_accounts_exactly_the_backups(ctx, client, alice):
    _, token, _ = alice
    path = await backup_path(ctx)
    before = await documents(ctx)
    later = await new_browser(client)
    assert (await accounts.sign_up(later, "bob")).code == 303
    await restore(path, ctx.repo, ctx.storage, replace=True)
    assert await documents(ctx) == before
    assert await ctx.accounts.users.by_name("bob") is None
    await signs_in_and_uploads(ctx, client, token)


async def test_as_mongorestore_restores_it_the_accounts_work(ctx, client, alice):
    """What mongorestore does with the archive: each collection created with the indexes of
    its metadata, then its documents inserted as they are."""
    _, token, _ = alice
    parsed = parse_archive(members(await backup_path(ctx))["mongodump.archive.gz"])
    db = database(ctx)
    await lose_everything(ctx)
    prefix = f"{ctx.settings.mongodb_db}."
    for namespace, metadata in parsed.metadata.items():
        collection = namespace.removeprefix(prefix)
        specs = json_util.loads(json.dumps(metadata["indexes"]))
        specs = [{k: v for k, v in s.items() if k != "v"} for s in specs if s["name"] != "_id_"]
        await db.command("createIndexes", collection, indexes=specs)
        if parsed.documents.get(namespace):
            await db[collection].insert_many(
                [bson.decode(raw) for raw in parsed.documents[namespace]]
            )
    await has_the_accounts_indexes(db)
    await signs_in_and_uploads(ctx, client, token)


async def test_the_admin_made_at_start_up_gives_way_to_the_backups(ctx, client, admin):
    made = await admin.request("POST", "/account/tokens", htmx=True, form={"name": "cron"})
    token = accounts.NEW_TOKEN.search(made.body.decode()).group(1)
    assert (await accounts.token_upload(client, token)).code == 201
    backed_up = await ctx.accounts.users.by_name("admin")
    path = await backup_path(ctx)
    await lose_everything(ctx)
    await ctx.accounts.prepare()  # a fresh install's start-up makes the admin anew
    assert (await ctx.accounts.users.by_name("admin")).id != backed_up.id

    report = await restore(path, ctx.repo, ctx.storage)
    await ctx.accounts.prepare()  # as the restore command does after
    assert (await ctx.accounts.users.by_name("admin")).id == backed_up.id
    assert await ctx.accounts.users.collection.count_documents({}) == 1
    assert (await accounts.token_upload(client, token)).code == 201
    browser = await new_browser(client)
    assert (await browser.login(ADMIN_PASSWORD)).code == 303
    assert await accounts.signed_in_as(browser) == "admin"
    assert "the admin account admin is the backup's (made before it)" in report.notes


async def test_an_account_whose_name_is_taken_is_left_out_with_all_it_owns(ctx, client, alice):
    """Another account took the name on the new machine: the backup's alice is not restored,
    nor her image, album or token (none of it may end up the other Alice's); the report says
    so, and once the other account is deleted, a restore brings all of her back."""
    _, token, name = alice
    owner = (await ctx.accounts.users.by_name("alice")).owner
    album = await ctx.albums.create(owner, "Cats")
    assert await ctx.albums.add(album, [name]) == 1
    path = await backup_path(ctx)
    await lose_everything(ctx)
    assert (await accounts.sign_up(await new_browser(client), "Alice")).code == 303
    other = await ctx.accounts.users.by_name("alice")

    report = await restore(path, ctx.repo, ctx.storage)
    assert [(a.username, a.images, a.albums, a.tokens) for a in report.skipped_accounts] == [
        ("alice", 1, 1, 1)
    ]
    assert await ctx.accounts.users.by_name("alice") == other
    assert await ctx.repo.list_page(owner=other.owner, limit=10) == []
    assert await ctx.albums.albums.of_owner(other.owner) == []
    assert await ctx.accounts.tokens.of_user(other.id) == []
    assert (await accounts.token_upload(client, token)).code == 401
    # Left out whole, files too: nothing that no account can reach.
    assert await ctx.repo.get(name) is None
    assert name not in {f.name for f in await ctx.storage.scan()}
    assert report.records == 1 and report.records_added == 0
    assert report.collections_added["users"] == 1  # the admin
    assert report.collections_added["api_tokens"] == report.collections_added["albums"] == 0

    admin = await ctx.accounts.users.by_name("admin")
    await ctx.accounts.delete_user(other, admin, keep_images=False)  # as the line says
    again = await restore(path, ctx.repo, ctx.storage)
    assert again.skipped_accounts == [] and again.records_added == 1
    await signs_in_and_uploads(ctx, client, token)
    assert name in await own_images(client, token)
    assert await album_names(ctx, album.album_id) == [name]
    assert (await ctx.albums.albums.get(album.album_id)).owner == owner
