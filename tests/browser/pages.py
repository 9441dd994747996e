"""What the browser tests share beside their fixtures: a fresh visitor's browser context, watched
for CSP violations from before any of the page's scripts run."""

TIMEOUT_MS = 15_000
DESKTOP = {"width": 1280, "height": 900}

# Recorded in the page before any of its scripts run (Playwright's init scripts are not
# subject to the page's CSP).
WATCH_PAGE = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def new_context(browser, stack, **options):
    """A fresh visitor: its own cookies (so its own owner id) and clipboard access."""
    options.setdefault("viewport", DESKTOP)
    context = browser.new_context(
        base_url=stack.url, permissions=["clipboard-read", "clipboard-write"], **options
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(WATCH_PAGE)
    return context
