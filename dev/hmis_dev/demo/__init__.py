"""Deterministic demo data for Hisar district: a facility registry and monthly submissions.

:func:`hmis_dev.demo.generator.generate` is the entry point; its module docstring names the
module that generates each part. :mod:`hmis_dev.demo.runner` runs the data through the
pipeline for ``hmis demo``.
"""
