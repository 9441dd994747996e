"""The page against nginx's per-address upload limit: a 429 makes a file wait, never ends it."""

import time

import pytest
from playwright.sync_api import expect

from imagehost.settings import DECLARED
from tests import images
from tests.browser.pages import cards, choose, file, open_page, titles
from tests.stack import stack_env, start_stack

pytestmark = pytest.mark.browser

DEFAULT_LIMITS = {
    s.name: s.default for s in DECLARED if s.name in ("UPLOAD_RATE_PER_MINUTE", "UPLOAD_BURST")
}
# Retry-After is 2 s at 30 a minute; a burst of 1 lets two files through at once.
TINY_LIMITS = {"UPLOAD_RATE_PER_MINUTE": "30", "UPLOAD_BURST": "1"}

# Every status change of every upload row, with the time it was seen.
WATCH_ROWS = """() => {
  window.__rows = [];
  new MutationObserver((changes) => {
    for (const change of changes) {
      const row = change.target.closest && change.target.closest(".upload-item");
      if (!row || change.attributeName !== "data-state") continue;
      window.__rows.push([performance.now(), row.id, row.dataset.state,
                          row.querySelector(".status").textContent]);
    }
  }).observe(document.getElementById("uploads"),
             { subtree: true, attributes: true, attributeFilter: ["data-state"] });
}"""


@pytest.fixture(scope="module")
def stack(request, tmp_path_factory):
    """This module's stack, at the limits the test names (overrides the shared one)."""
    env = stack_env(tmp_path_factory.mktemp("limits"), MONGODB_URI="", **request.param)
    with start_stack(env) as running:
        yield running


def rejected(stack) -> int:
    """How many uploads nginx answered 429 (its access log, one line a request)."""
    log = (stack.settings.logs_dir / "nginx-access.log").read_text()
    return sum(1 for line in log.splitlines() if "POST /upload " in line and '" 429 ' in line)


@pytest.mark.parametrize("stack", [DEFAULT_LIMITS], indirect=True)
def test_sixty_files_chosen_at_once_all_reach_the_gallery_at_the_default_limits(page, stack):
    open_page(page)
    page.evaluate(WATCH_ROWS)
    names = [f"holiday-{i:02d}.png" for i in range(60)]
    began = time.monotonic()
    choose(
        page, *[file(name, images.png((60 + i, 40)), "image/png") for i, name in enumerate(names)]
    )
    # The burst goes at once; the rest at the configured rate (one a second), so allow a minute.
    expect(cards(page)).to_have_count(60, timeout=90_000)
    took = time.monotonic() - began
    assert sorted(titles(page)) == names
    expect(page.locator(".upload-item[data-state=failed]")).to_have_count(0)
    done = {row for _, row, state, _ in page.evaluate("window.__rows") if state == "done"}
    assert len(done) == 60
    print(f"60 files at the default limits: {took:.1f} s, {rejected(stack)} 429s")


@pytest.mark.parametrize("stack", [TINY_LIMITS], indirect=True)
def test_a_file_refused_by_the_limit_waits_the_queue_pauses_and_it_is_sent_again(page, stack):
    open_page(page)
    page.evaluate(WATCH_ROWS)
    names = [f"tiny-{i}.png" for i in range(5)]
    choose(
        page, *[file(name, images.png((50 + i, 40)), "image/png") for i, name in enumerate(names)]
    )
    waiting = page.locator(".upload-item[data-state=retrying]").first
    expect(waiting.locator(".status")).to_have_text(
        "waiting 2 s for the server's upload limit, then sent again"
    )
    expect(cards(page)).to_have_count(5, timeout=30_000)
    assert sorted(titles(page)) == names
    expect(page.locator(".upload-item[data-state=failed]")).to_have_count(0)

    rows = page.evaluate("window.__rows")
    retried = {row for _, row, state, _ in rows if state == "retrying"}
    assert retried, rows
    for row in retried:  # each was sent again after its wait, and got through
        states = [state for _, r, state, _ in rows if r == row]
        assert states[-3:] == ["retrying", "uploading", "done"], states
    # Nothing starts while the queue is paused: after each 429, the next start is 2 s later.
    # The times are when the observer saw each change, not when the page made it: on a busy
    # machine the sighting of a 429 lags by a hundred milliseconds or more (103 ms was seen),
    # which shortens the gap measured here. Without the pause the gap is a few milliseconds.
    for when, row, state, _ in rows:
        if state == "retrying":
            starts = [t for t, _, s, _ in rows if s == "uploading" and t > when]
            assert not starts or min(starts) - when >= 1500, (row, rows)
    assert rejected(stack) >= len(retried)
