"""imagehost: a self-hosted image host (Tornado, PyMongo async, nginx)."""

__version__ = "0.1.0"
