"""Pillow keeps a bounded number of freed image blocks for the next image."""

import pytest
from PIL import Image

from imagehost.settings import MIB
from imagehost.tuning import reuse_image_blocks


@pytest.fixture
def pillow_blocks():
    size, kept = Image.core.get_block_size(), Image.core.get_blocks_max()
    yield
    Image.core.set_blocks_max(kept)
    Image.core.set_block_size(size)


def test_a_freed_frame_is_reused_by_the_next_image(pillow_blocks):
    reuse_image_blocks()
    frame = Image.new("RGB", (1920, 1080))  # 8 MB of pixels
    del frame
    kept = Image.core.get_stats()["blocks_cached"]
    assert kept > 0
    assert kept * Image.core.get_block_size() <= 16 * MIB
    reused = Image.core.get_stats()["reused_blocks"]
    Image.new("RGB", (1920, 1080))
    assert Image.core.get_stats()["reused_blocks"] > reused
