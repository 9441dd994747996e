"""Babel's extractor for Tornado templates: the messages of `_()` calls in {{ }} and {% %}.

Each block's code is handed to Babel's own Python extractor, so a template's calls are read
exactly as Python's are (plurals included); {{! }} and {%! %} are literal text, {# #} comments.
"""

import io
import re
from collections.abc import Collection, Iterator, Mapping

from babel.messages.extract import extract_python

_BLOCK = re.compile(r"\{\{(?!!)(.*?)\}\}|\{%(?!!)(.*?)%\}|\{#.*?#\}", re.S)


def extract_tornado(
    fileobj, keywords: Collection[str], comment_tags: Collection[str], options: Mapping
) -> Iterator[tuple[int, str, object, list[str]]]:
    encoding = options.get("encoding", "utf-8")
    text = fileobj.read().decode(encoding)
    for block in _BLOCK.finditer(text):
        code = block.group(1) if block.group(1) is not None else block.group(2)
        if code is None:
            continue
        first_line = text.count("\n", 0, block.start())
        found = extract_python(
            io.BytesIO(code.encode(encoding)), keywords, comment_tags, {"encoding": encoding}
        )
        for lineno, funcname, messages, comments in found:
            yield first_line + lineno, funcname, messages, comments
