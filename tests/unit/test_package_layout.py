"""The folders' boundaries, read from the import statements: the app never imports imagehost.dev
(the local-run tooling), so a deployment needs nothing of it; imagehost/images/ imports only
Pillow and the standard library."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import imagehost

PACKAGE = Path(imagehost.__file__).resolve().parent


def imported_modules(source: str, module: str) -> set[str]:
    """The absolute names of the modules `source` (the text of `module`) imports."""
    names = set()
    package = module.split(".")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level] if node.level else []
            prefix = ".".join(base + ([node.module] if node.module else []))
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return names


def is_dev(name: str) -> bool:
    return name == "imagehost.dev" or name.startswith("imagehost.dev.")


def app_modules() -> dict[str, str]:
    """Every module of the app outside imagehost/dev/, by dotted name -> its source."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[:2] == ("imagehost", "dev"):
            continue
        modules[".".join(parts)] = path.read_text()
    return modules


def test_no_app_module_imports_the_local_run_tooling():
    offenders = {
        name: sorted(filter(is_dev, imported_modules(source, name)))
        for name, source in app_modules().items()
    }
    assert {name: found for name, found in offenders.items() if found} == {}
    # The package's top modules and those of its folders were all read.
    assert "imagehost.server" in offenders and any(name.count(".") > 1 for name in offenders)


def test_the_reader_resolves_each_way_of_importing_it():
    for source, module in (
        ("from .dev import devstack", "imagehost.server"),
        ("from ..dev.nginxconf import render", "imagehost.handlers.base"),
        ("import imagehost.dev.devstack", "imagehost.app"),
        ("from imagehost.dev import nginxconf", "imagehost.app"),
        ("from . import dev", "imagehost.app"),
    ):
        assert any(map(is_dev, imported_modules(source, module))), source
    assert not any(map(is_dev, imported_modules("from .devices import x", "imagehost.app")))


def is_allowed_in_images(name: str) -> bool:
    """Pillow, the standard library and the folder itself: nothing of Tornado, PyMongo or
    the rest of imagehost."""
    top = name.split(".")[0]
    own = name == "imagehost.images" or name.startswith("imagehost.images.")
    return own or top == "PIL" or (top in sys.stdlib_module_names and top != "imagehost")


def test_the_image_folder_imports_only_pillow_and_the_standard_library():
    folder = {n: src for n, src in app_modules().items() if n.startswith("imagehost.images.")}
    assert {"imagehost.images.check", "imagehost.images.thumbnail"} <= folder.keys()
    offenders = {
        name: sorted(n for n in imported_modules(source, name) if not is_allowed_in_images(n))
        for name, source in folder.items()
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_image_folder_rule_refuses_what_it_must():
    for source in (
        "import tornado.web",
        "from pymongo import errors",
        "from ..refusal import Refusal",
        "from ...database import ImageRecord",
        "import imagehost.storage",
        "from loguru import logger",
    ):
        found = imported_modules(source, "imagehost.images.check")
        assert not all(map(is_allowed_in_images, found)), source
    for source in ("from .thumbnail import fit", "import struct", "from PIL import Image"):
        assert all(map(is_allowed_in_images, imported_modules(source, "imagehost.images.check")))


LOADS_OBSTORE = """
import asyncio, json, sys
import imagehost.__main__
from imagehost.context import build_context
from imagehost.settings import load_settings

async def build():
    async with build_context(load_settings(json.loads(sys.argv[1]))) as ctx:
        print(type(ctx.storage).__name__, "obstore" in sys.modules)

asyncio.run(build())
"""


@pytest.mark.parametrize(
    ("storage", "answer"),
    [
        ({}, "LocalStorage False"),
        (
            {
                "STORAGE": "s3", "S3_ENDPOINT": "http://127.0.0.1:9", "S3_BUCKET": "images",
                "S3_ACCESS_KEY_ID": "key", "S3_SECRET_ACCESS_KEY": "secret",
                "COOKIE_SECRET": "c" * 48,
            },
            "S3Storage True",
        ),
    ],
)  # fmt: skip
def test_only_a_process_that_uses_the_bucket_loads_obstore(tmp_path, storage, answer):
    """obstore's library adds about 8 MiB to a process: the workers and the commands on local
    storage never load it (nor anything that connects: the database is never reached here)."""
    env = {"VAR_DIR": str(tmp_path), "MONGODB_URI": "mongodb://127.0.0.1:9/", **storage}
    out = subprocess.run(
        [sys.executable, "-c", LOADS_OBSTORE, json.dumps(env)],
        capture_output=True, text=True, cwd=PACKAGE.parent, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == answer
