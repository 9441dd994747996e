"""Every message of the interface is in every catalogue, and the extraction really finds them."""

import io
import shlex
import subprocess
from datetime import UTC, datetime

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from imagehost.i18n.catalogs import ROOT, source_messages
from imagehost.i18n.extract import extract_tornado
from imagehost.i18n.languages import LANGUAGES, SOURCE_LANGUAGE, catalogue_path
from tests.unit.catalogue import problems

TRANSLATED = [language for language in LANGUAGES if language != SOURCE_LANGUAGE]
KEYWORDS = {"_": {1: (1,), 3: (1, 2)}}


def read_catalogue(language: str) -> Catalog:
    with catalogue_path(language).open("rb") as po:
        return read_po(po, locale=language)


@pytest.fixture(scope="module")
def sources():
    return source_messages()


def test_russian_is_one_of_the_languages():
    assert "ru" in TRANSLATED


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(language, sources):
    assert problems(read_catalogue(language), sources) == []


def test_messages_come_from_templates_python_and_scripts(sources):
    folders = {filename.split("/", 1)[0] for filename, *_ in sources}
    assert folders == {"templates", "imagehost", "static"}
    assert not any("htmx-" in filename for filename, *_ in sources)


def test_the_template_extractor_finds_calls_in_expressions_and_statements():
    template = b"""<p title="{{ _("Hello") }}">{{! _("literal") }}</p>
{# _("a comment") #}
{% module Template("_x.html", label=_("Copy {name}").format(name=n)) %}
<p>{{ _("{count} image", "{count} images", len(images)).format(count=3) }}</p>
"""
    found = [
        (lineno, messages)
        for lineno, _, messages, _ in extract_tornado(io.BytesIO(template), KEYWORDS, (), {})
    ]
    assert found == [
        (1, "Hello"),
        (3, "Copy {name}"),
        (4, ("{count} image", "{count} images", None)),
    ]


def catalogue_with(*entries) -> Catalog:
    catalog = Catalog(locale="ru")
    for msgid, msgstr in entries:
        catalog.add(msgid, msgstr)
    return catalog


SOURCES = [
    ("templates/a.html", 1, "Delete {name}?", [], None),
    ("imagehost/b.py", 2, ("{count} image", "{count} images"), [], None),
]
PLURAL = ("{count} изображение", "{count} изображения", "{count} изображений")


def test_the_check_passes_a_complete_catalogue():
    complete = catalogue_with(("Delete {name}?", "Удалить {name}?"), (SOURCES[1][2], PLURAL))
    assert problems(complete, SOURCES) == []


@pytest.mark.parametrize(
    ("entries", "complaint"),
    [
        ([(SOURCES[1][2], PLURAL)], "'Delete {name}?' is not in the catalogue"),
        ([("Delete {name}?", ""), (SOURCES[1][2], PLURAL)], "is not translated"),
        ([("Delete {name}?", "Удалить {имя}?"), (SOURCES[1][2], PLURAL)], "other placeholders"),
        ([("Delete {name}?", "Удалить?"), (SOURCES[1][2], PLURAL)], "other placeholders"),
        (
            [
                ("Delete {name}?", "Удалить {name}?"),
                (SOURCES[1][2], ("{count} изображение", "изображения", "{count} изображений")),
            ],
            "other placeholders",
        ),
        (
            [("Delete {name}?", "Удалить {name}?"), (SOURCES[1][2], PLURAL[:2])],
            "has 2 forms, the language has 3",
        ),
    ],
)
def test_the_check_finds_what_is_missing_or_wrong(entries, complaint):
    found = problems(catalogue_with(*entries), SOURCES)
    assert len(found) == 1 and complaint in found[0], found


def messages_update_command() -> list[str]:
    """The `pybabel update` step of `make messages`, as the Makefile would run it."""
    dry_run = subprocess.run(
        ["make", "-n", "-s", "messages"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    steps = [shlex.split(step) for step in dry_run.replace("\\\n", " ").splitlines()]
    (update,) = [step for step in steps if "babel.messages.frontend" in step and "update" in step]
    return update


def as_template(catalog: Catalog) -> Catalog:
    """What `pybabel extract` would write for `catalog`'s messages: their places, no translations,
    a creation date of its own."""
    template = Catalog(project=catalog.project, creation_date=datetime(2000, 1, 1, tzinfo=UTC))
    for message in catalog:
        if message.id:
            empty = ("", "") if message.pluralizable else ""
            template.add(
                message.id,
                empty,
                message.locations,
                message.flags,
                message.auto_comments,
                message.user_comments,
                context=message.context,
            )
    return template


@pytest.mark.parametrize("language", TRANSLATED)
def test_make_messages_keeps_the_committed_catalogue_as_it_is(language, tmp_path):
    """With the messages unchanged, the catalogue `make messages` writes is byte for byte the
    committed one: same line width, same header (no new POT-Creation-Date): no noisy diff."""
    committed = catalogue_path(language).read_bytes()
    pot, po = tmp_path / "imagehost.pot", tmp_path / "imagehost.po"
    with pot.open("wb") as out:
        write_po(out, as_template(read_catalogue(language)))
    po.write_bytes(committed)
    command = messages_update_command()
    for flag, value in (("-i", pot), ("-d", tmp_path)):
        command[command.index(flag) + 1] = str(value)
    subprocess.run([*command, "-o", str(po), "-l", language], cwd=ROOT, check=True)
    assert po.read_bytes() == committed
