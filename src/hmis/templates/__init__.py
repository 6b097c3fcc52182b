"""Jinja templates for every text a person reads, with the glossary's words built in.

One folder per kind of document (``report/``, ``feedback/``, ``notify/``); the environment
(:mod:`hmis.templates.environment`) loads them from the installed package, escapes HTML and
gives every template the glossary and the helpers of :mod:`hmis.templates.filters`.
"""

from __future__ import annotations

from hmis.templates.environment import environment
from hmis.templates.filters import aligned, clock, column_widths, oneline, ordinal, plural, sentence, short_date

__all__ = ["aligned", "clock", "column_widths", "oneline", "ordinal", "plural", "render", "sentence", "short_date"]


def render(template_name: str, /, **context) -> str:
    """The template ``template_name`` (e.g. ``notify/email.html``) rendered with ``context``
    (positional-only, so a template variable may be called ``name``)."""
    return environment().get_template(template_name).render(**context)
