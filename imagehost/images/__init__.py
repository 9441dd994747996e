"""Image bytes, with Pillow only: the check, metadata stripping, thumbnails and colour.

Pure functions, bytes in and verdicts or bytes out; nothing here knows of Tornado or MongoDB.
"""
