"""Third-party files shipped in static/: each with its version in its name and its licence."""

import re

from imagehost import ROOT


def test_htmx_is_vendored_with_its_version_and_licence():
    static = ROOT / "static" / "js"
    (vendored,) = static.glob("htmx-*.min.js")
    version = re.fullmatch(r"htmx-(2\.0\.\d+)\.min\.js", vendored.name)[1]
    assert f'version:"{version}"' in vendored.read_text()
    licence = (static / "htmx.LICENSE.txt").read_text()
    assert "Zero-Clause BSD" in licence and version in licence
