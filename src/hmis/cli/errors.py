"""The one error every command shows as a line of text instead of a traceback."""

from __future__ import annotations

from hmis.platform.errors import HmisError


class UsageError(HmisError):
    """A mistake in how the command was called; shown without a traceback, exit code 2."""
