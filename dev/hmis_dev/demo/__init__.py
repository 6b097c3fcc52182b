"""Deterministic demo data for Hisar district: a facility registry and monthly submissions.

Everything lives in :mod:`hmis_dev.demo.generator` (``generate``, ``write_registry``,
``DemoTruth``); its module docstring describes the planned submission mix.
"""
