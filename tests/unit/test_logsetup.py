import re

from loguru import logger

from imagehost.logsetup import LOG_FORMAT, one_line, redact, setup_logging


def test_a_delete_token_is_cut_from_uris():
    assert redact("/delete/abcdefghijklmnop.png/s3cr3t-T0ken") == (
        "/delete/abcdefghijklmnop.png/[token]"
    )
    assert redact("/delete/a.png/tok?x=1") == "/delete/a.png/[token]?x=1"
    assert redact("/api/v1/images/a.png") == "/api/v1/images/a.png"
    assert redact("/upload") == "/upload"


def test_one_line_cannot_start_a_new_line():
    text = one_line("a.png\n2026-01-01 00:00:00.000 +0000 | ERROR   | forged\r\x00")
    assert "\n" not in text and "\r" not in text and "\x00" not in text
    assert len(one_line("x" * 1000)) < 320


def test_tracebacks_do_not_show_variable_values(tmp_path):
    log = setup_logging(tmp_path, console=False)
    try:
        password = "hunter2-" + "in-a-local-variable"
        raise ValueError(f"length {len(password)}")
    except ValueError:
        logger.exception("boom")
    logger.complete()
    text = log.read_text()
    assert "ValueError: length 27" in text
    assert "hunter2" not in text
    logger.remove()


def test_log_lines_start_with_a_timestamp(tmp_path):
    assert LOG_FORMAT.startswith("{time:")
    log = setup_logging(tmp_path, console=False)
    logger.info(f"upload accepted original={one_line('x\nforged')}")
    logger.complete()
    lines = log.read_text().splitlines()
    assert len(lines) == 1 and re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ", lines[0])
    logger.remove()
