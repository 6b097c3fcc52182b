"""HMIS monthly reporting pipeline: collect, check and publish health-facility data."""

__version__ = "0.1.0"
