"""The compiled catalogs (locale/<lang>/LC_MESSAGES/imagehost.mo) loaded into tornado.locale,
and the messages the page's scripts (static/js) show, translated for one reader."""

from functools import cache
from pathlib import Path

import tornado.locale
from babel import Locale
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from .languages import DOMAIN, LANGUAGES, LOCALE_DIR, SOURCE_LANGUAGE, catalogue_path

ROOT = LOCALE_DIR.parent
EXTRACTION_CONFIG = ROOT / "babel.cfg"


class CatalogueMissing(RuntimeError):
    """A language's .po has no compiled .mo, or one older than itself."""


def load() -> None:
    """Load every compiled catalogue; English, the source language, needs none."""
    for language in LANGUAGES:
        if language == SOURCE_LANGUAGE:
            continue
        po, mo = catalogue_path(language), catalogue_path(language, ".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            raise CatalogueMissing(
                f"{mo} is missing or older than its .po; `make` compiles the catalogues"
            )
    tornado.locale.set_default_locale(SOURCE_LANGUAGE)
    tornado.locale.load_gettext_translations(str(LOCALE_DIR), DOMAIN)


def extraction_map() -> tuple[list[tuple[str, str]], dict]:
    """babel.cfg: which files hold messages and how each kind is read."""
    with EXTRACTION_CONFIG.open() as config:
        return parse_mapping_cfg(config)


def source_messages(under: str = "") -> list[tuple[str, int, str | tuple, list, str | None]]:
    """Every message babel.cfg finds (only in the folder `under`, when given), as
    (file, line, message or (singular, plural), comments, context)."""
    method_map, options_map = extraction_map()
    tops = {pattern.split("/", 1)[0] for pattern, _ in method_map}
    if under:
        tops &= {under}

    def enter(path: str) -> bool:
        relative = Path(path).relative_to(ROOT).parts
        return relative[0] in tops and not relative[-1].startswith((".", "_"))

    return list(extract_from_dir(str(ROOT), method_map, options_map, directory_filter=enter))


@cache
def script_messages() -> tuple[str | tuple[str, str], ...]:
    """The messages of static/js: `_(message)` and `ngettext(singular, plural, count)`."""
    return tuple(sorted({message for _, _, message, _, _ in source_messages("static")}, key=str))


@cache
def _samples(language: str) -> dict[str, int]:
    """A count for each of the language's CLDR plural categories (ru: one 1, few 2, many 5)."""
    rule = Locale.parse(language).plural_form
    samples: dict[str, int] = {}
    for count in range(200):
        samples.setdefault(rule(count), count)
    return samples


def script_catalogue(locale: tornado.locale.Locale) -> dict[str, str | dict[str, str]]:
    """The scripts' messages in `locale` (none for the source language: the scripts hold it).
    A plural message comes as its text for each plural category, as Intl.PluralRules names
    them: the count in a category picks the catalogue's form as it would on the server."""
    if locale.code == SOURCE_LANGUAGE:
        return {}
    catalogue: dict[str, str | dict[str, str]] = {}
    for message in script_messages():
        if isinstance(message, tuple):
            singular, plural = message
            catalogue[singular] = {
                category: locale.translate(singular, plural, count)
                for category, count in _samples(locale.code).items()
            }
        else:
            catalogue[message] = locale.translate(message)
    return catalogue
