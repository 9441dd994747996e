"""What is served, and its thumbnail, look in Chromium as the upload does (tests/tricky.py's files).

Chromium decodes everything here (createImageBitmap, ImageDecoder for every frame) and the
pixels are compared in the page: the upload's against those of the served file and thumbnail.
"""

import base64
from urllib.parse import urlparse

import pytest

from imagehost.images.thumbnail import SIDE, fit
from tests import tricky
from tests.browser.pages import new_context

pytestmark = pytest.mark.browser

# The mean difference allowed between a thumbnail and the upload downscaled by Chromium to the
# same size, per channel (of 255, alpha-weighted). What is left when colour, frame and
# orientation are right is the thumbnail's JPEG encoding (quality 82, chroma subsampled: 1.0
# to 1.7 on these pictures, 2.5 on a posterised GIF whose saturated edges it smears) and the
# resampling filter (Pillow's bicubic against Chromium's, under 0.3 on these smooth pictures).
# A wrong colour treatment costs more than twice the bound: 7.7 for the mildest here (a
# gAMA of 1/1.8 drawn as sRGB), 14 to 44 for the others; a wrong frame 96.
THUMBNAIL_BOUND = 4.0

# Pixels as the page draws them: RGBA, of the first frame, EXIF orientation applied.
COMPARE = """
async ([upload, mime, servedPath, thumbnailPath, frames]) => {
  const uploaded = new Blob([Uint8Array.from(atob(upload), (c) => c.charCodeAt(0))]);
  const fetched = async (path) => {
    const response = await fetch(path);
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.blob();
  };
  const [served, thumbnail] = await Promise.all([fetched(servedPath), fetched(thumbnailPath)]);
  const draw = (source, width, height) => {
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext("2d");
    context.drawImage(source, 0, 0);
    return { width, height, data: context.getImageData(0, 0, width, height).data };
  };
  const still = async (blob, size) => {
    const bitmap = await createImageBitmap(blob, size
      ? { resizeWidth: size[0], resizeHeight: size[1], resizeQuality: "high" } : {});
    return draw(bitmap, bitmap.width, bitmap.height);
  };
  const everyFrame = async (blob) => {
    const decoder = new ImageDecoder({ data: await blob.arrayBuffer(), type: mime });
    await decoder.tracks.ready;
    await decoder.completed;
    const found = [];
    for (let i = 0; i < decoder.tracks.selectedTrack.frameCount; i++) {
      const { image } = await decoder.decode({ frameIndex: i });
      found.push(draw(image, image.displayWidth, image.displayHeight));
      image.close();
    }
    decoder.close();
    return found;
  };
  // Alpha-weighted, so the colour of fully transparent pixels does not count.
  const difference = (a, b) => {
    if (a.width !== b.width || a.height !== b.height) return { mean: 255, max: 255 };
    let total = 0, max = 0;
    for (let i = 0; i < a.data.length; i += 4) {
      for (let c = 0; c < 4; c++) {
        const d = c === 3 ? Math.abs(a.data[i + 3] - b.data[i + 3])
          : Math.abs(a.data[i + c] * a.data[i + 3] - b.data[i + c] * b.data[i + 3]) / 255;
        total += d;
        max = Math.max(max, d);
      }
    }
    return { mean: total / a.data.length, max };
  };
  const original = await still(uploaded);
  const shown = await still(served);
  const small = await still(thumbnail);
  const result = {
    size: [original.width, original.height],
    servedSize: [shown.width, shown.height],
    served: difference(original, shown).max,
    thumbnailSize: [small.width, small.height],
    thumbnail: difference(await still(uploaded, [small.width, small.height]), small).mean,
  };
  if (frames > 1) {
    const [before, after] = await Promise.all([everyFrame(uploaded), everyFrame(served)]);
    result.frames = [before.length, after.length];
    result.servedFrames = before.map((frame, i) => difference(frame, after[i]).max);
  }
  return result;
}
"""

DECODES = """async (data) => {
  try {
    await createImageBitmap(new Blob([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))]));
    return true;
  } catch { return false; }
}"""


@pytest.fixture(scope="module")
def viewer(browser, stack):
    """One page for the whole module: each case only fetches and decodes."""
    context = new_context(browser, stack)
    page = context.new_page()
    page.goto("/")
    yield page
    context.close()


def encoded(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("case", tricky.cases(), ids=lambda case: case.name)
def test_served_file_and_thumbnail_look_like_the_upload(viewer, site, case):
    status, _, body = site.upload(case.data, filename=case.name)
    assert status == 201, body
    served, thumbnail = (urlparse(body[key]).path for key in ("url", "thumbnail_url"))
    seen = viewer.evaluate(COMPARE, [encoded(case.data), case.mime, served, thumbnail, case.frames])
    assert seen["servedSize"] == seen["size"]
    assert seen["served"] == 0, seen  # stripping is lossless
    if case.frames > 1:
        assert seen["frames"] == [case.frames, case.frames], seen
        assert seen["servedFrames"] == [0] * case.frames, seen
    assert seen["thumbnailSize"] == list(fit(seen["size"], SIDE)), seen
    assert seen["thumbnail"] <= THUMBNAIL_BOUND, seen


def test_gifs_are_accepted_exactly_when_chromium_can_decode_them(viewer, site):
    verdicts = {}
    for code_size in range(13):
        data = tricky.gif_with_code_sizes(code_size)
        status, _, body = site.upload(data, filename="codes.gif")
        decodes = viewer.evaluate(DECODES, encoded(data))
        verdicts[code_size] = (status, decodes)
        if status != 201:
            assert status == 422 and b"browsers cannot decode" in body, body
    assert {size for size, (status, _) in verdicts.items() if status == 201} == set(range(2, 9))
    assert all((status == 201) == decodes for status, decodes in verdicts.values()), verdicts
