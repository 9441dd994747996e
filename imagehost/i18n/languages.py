"""Which languages the interface speaks (English, the source, and one per locale/<lang>/
catalogue) and which one a reader gets: their own choice, then Accept-Language, then the
default."""

from collections.abc import Sequence
from functools import cache
from pathlib import Path

from babel import Locale

LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"
DOMAIN = "imagehost"
SOURCE_LANGUAGE = "en"


def catalogue_path(language: str, suffix: str = ".po") -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def _translated() -> tuple[str, ...]:
    return tuple(sorted(p.parents[1].name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")))


LANGUAGES: tuple[str, ...] = (SOURCE_LANGUAGE, *_translated())


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is defined; it is translated where shown."""
    return message


def accepted(header: str) -> list[str]:
    """The language tags of an Accept-Language header, most wanted first (q=0 left out)."""
    ranked = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag.strip() and weight > 0:
            ranked.append((-weight, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def supported(tag: str) -> str:
    """The language of ours that a tag such as "ru-RU" or "en" names; "" when none."""
    primary = tag.replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LANGUAGES else ""


def choose_language(choices: Sequence[str], accept_language: str, default: str) -> str:
    """The first of the reader's own choices that we speak (the account's, then the
    browser's cookie), else the first of Accept-Language that we speak, else `default`."""
    for tag in (*choices, *accepted(accept_language)):
        if supported(tag):
            return supported(tag)
    return default


@cache
def language_name(language: str) -> str:
    """The language's name in itself, for the switcher: "English", "Русский"."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]
