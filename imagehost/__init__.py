"""imagehost: a self-hosted image host (Tornado, PyMongo async, nginx)."""

from pathlib import Path

from . import zlibng

# Before anything imports zlib or Pillow: see zlibng.
zlibng.load()

__version__ = "0.1.0"
# The folder that holds this package and, beside it, templates/, static/ and nginx/: the
# checkout, or /app in the image.
ROOT = Path(__file__).resolve().parent.parent
