"""The product's base exception.

Every error the pipeline raises on purpose derives from :class:`HmisError`, so a caller can
tell a known, explained failure (a bad file, a busy lock, a missing connection) from a bug.
Messages name the facility, period, file or setting concerned and what to do about it.
"""

from __future__ import annotations


class HmisError(Exception):
    """An expected failure with a message a person can act on."""
