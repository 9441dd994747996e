"""What every upload route refuses, as parametrize marks: input, status, words of the reason."""

import pytest

from tests import images

LIMIT = 5 * 1024 * 1024

BAD_FILES = pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (images.padded_png(LIMIT + 1), 413, "limit"),
        (b"just some text", 415, "JPEG, PNG or GIF"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", 415, "JPEG, PNG or GIF"),
        (b"", 400, "empty"),
        (images.png((300, 300))[:500], 422, "damaged"),
    ],
    ids=["too-big", "text", "svg", "empty", "truncated"],
)

BAD_SHAPES = pytest.mark.parametrize(
    ("parts", "status", "words"),
    [
        ([("title", None, b"x")], 400, "no file"),
        ([("file", "a.png", images.png()), ("file", "b.png", images.png())], 400, "one file"),
        ([("image", "a.png", images.png())], 400, "part named 'file'"),
    ],
)
