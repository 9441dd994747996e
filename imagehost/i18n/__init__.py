"""The interface in the reader's language: gettext catalogs (locale/), the choice of language,
Babel's formatting of numbers, sizes and dates, and the extractor for Tornado templates."""
