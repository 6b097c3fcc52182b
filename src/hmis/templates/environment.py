"""The one Jinja2 environment that renders every text a person reads.

Templates live beside this module, one folder per kind of document (``report/``,
``feedback/``, ``notify/``), and are loaded from the installed package, so they ship with it.
HTML templates are autoescaped: a facility called ``<b>&</b>`` prints as text, never markup.
The glossary's helpers are globals, so every template takes its words, status labels, month
names and dates from ``hmis/i18n/glossary.yaml`` and never spells them itself; the helpers of
:mod:`hmis.templates.filters` (plurals, IST dates, plain-text tables) are globals and filters.
``.txt`` and ``.j2`` templates are not escaped: ``.j2`` files are modules of words that a
plain-text and an HTML template both import, and the HTML one escapes them when it prints.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from hmis.i18n import glossary
from hmis.templates.filters import FILTERS, GLOBALS

GLOSSARY_GLOBALS = {
    "term": glossary.term,
    "role_label": glossary.role_label,
    "status_label": glossary.status_label,
    "statuses": glossary.statuses,
    "month_word": glossary.month_word,
    "month_name": glossary.month_name,
    "date_text": glossary.date_text,
}


@cache
def environment() -> Environment:
    """The shared environment (built once): package templates, HTML autoescaped, glossary globals.

    Undefined names raise instead of printing nothing, so a misspelt variable fails a test
    rather than leaving a gap in a page.
    """
    env = Environment(
        loader=PackageLoader("hmis", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(GLOSSARY_GLOBALS)
    env.globals.update(GLOBALS)
    env.filters.update(FILTERS)
    return env
