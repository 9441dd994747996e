"""The app's own per-request log line: through loguru, server errors as ERROR, tokens cut."""

from loguru import logger

from imagehost.logsetup import setup_logging
from tests import images


async def test_request_lines_carry_no_delete_token(client, ctx):
    log = setup_logging(ctx.settings.logs_dir, "DEBUG", console=False)
    answer = await client.uploaded(images.png(), "a.png")
    path = answer["delete_url"].replace(client.base, "")
    token = path.rsplit("/", 1)[1]
    refused = await client.request("POST", path, headers={"Cookie": "_xsrf=abc"})
    assert refused.code == 403
    await logger.complete()
    text = log.read_text()
    logger.remove()
    assert f"request 403 POST '/delete/{answer['name']}/[token]' ip=127.0.0.1" in text
    assert token not in text
