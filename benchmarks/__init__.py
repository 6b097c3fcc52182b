"""Benchmarks of the HMIS pipeline at district, state and national scale.

Scripts, not tests: they generate a month of submissions at a named scale, time the
pipeline's own stage functions on it against plain PostgreSQL ``COPY``, ``to_sql`` and
per-facility Great Expectations runs, and print a table. Run one with
``python -m benchmarks.run --scale district|state|national``; see ``benchmarks/README.md``.
"""
