"""What makes a language's catalogue complete: every message the sources hold (as babel.cfg
finds them) translated, not fuzzy, every plural form written, placeholders as the original's."""

import re
from collections import Counter

from babel.messages.catalog import Catalog

PLACEHOLDER = re.compile(r"\{\w*\}|%\(\w+\)[sdifr]|%[sdifr]")


def placeholders(text: str) -> Counter:
    return Counter(PLACEHOLDER.findall(text))


def problems(catalog: Catalog, sources: list[tuple]) -> list[str]:
    """What is wrong with `catalog` for the messages in `sources` (extract_from_dir's tuples)."""
    found = []
    for filename, lineno, message, _, context in sources:
        singular = message[0] if isinstance(message, tuple) else message
        where = f"{filename}:{lineno}: {singular!r}"
        entry = catalog.get(singular, context)
        if entry is None:
            found.append(f"{where} is not in the catalogue")
            continue
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(forms):
            found.append(f"{where} is not translated (or fuzzy)")
            continue
        if isinstance(message, tuple) != entry.pluralizable:
            found.append(f"{where} is plural in one place and not in the other")
            continue
        if entry.pluralizable and len(forms) != catalog.num_plurals:
            found.append(f"{where} has {len(forms)} forms, the language has {catalog.num_plurals}")
        wanted = placeholders(message[-1] if isinstance(message, tuple) else message)
        for form in forms:
            if placeholders(form) != wanted:
                found.append(f"{where}: {form!r} has other placeholders than the original")
    return found
