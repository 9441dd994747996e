from imagehost.cards import card_for, embed_snippets, facts, thumb_box
from imagehost.database import ImageRecord
from tests.records import image_record


def record(**changes) -> ImageRecord:
    values = dict(
        original_name="cat.png", width=1200, height=800, size=1536, delete_token_hash="-",
        thumbnail="AAAAAAAAAAAAAAAA.thumb.jpg",
    )  # fmt: skip
    return image_record("AAAAAAAAAAAAAAAA.png", **{**values, **changes})


def test_thumb_box_fits_the_long_side_and_never_upscales():
    assert thumb_box(1200, 800) == (320, 213)
    assert thumb_box(800, 1200) == (213, 320)
    assert thumb_box(100, 50) == (100, 50)
    assert thumb_box(10_000, 1) == (320, 1)


def test_snippets_embed_the_direct_link():
    url = "https://img.example.org/images/AAAAAAAAAAAAAAAA.png"
    page = "https://img.example.org/v/AAAAAAAAAAAAAAAA"
    snippets = {s.key: s.text for s in embed_snippets(url, "cat.png", page)}
    assert snippets == {
        "link": url,
        "markdown": f"![cat.png]({url})",
        "bbcode": f"[img]{url}[/img]",
        "html": f'<img src="{url}" alt="cat.png">',
        "page": page,
    }


def test_snippets_cannot_be_broken_out_of_by_the_name():
    url = "https://x/images/AAAAAAAAAAAAAAAA.png"
    snippets = {s.key: s.text for s in embed_snippets(url, 'a](evil) "b" <i>&[/img]', "p")}
    assert snippets["markdown"] == f'![a(evil) "b" <i>&/img]({url})'
    assert snippets["html"] == f'<img src="{url}" alt="a](evil) &quot;b&quot; &lt;i>&amp;[/img]">'


def test_card_falls_back_to_the_stored_name_and_states_the_facts():
    card = card_for(record(original_name=""), "u", "/images/t", "p")
    assert card.title == "AAAAAAAAAAAAAAAA.png" and card.stem == "AAAAAAAAAAAAAAAA"
    assert facts(card.record) == "PNG · 1200×800 · 1.5 KiB"
    assert (card.thumb_width, card.thumb_height) == (320, 213)
