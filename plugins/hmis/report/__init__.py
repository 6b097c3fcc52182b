"""The district compliance report page: a self-contained HTML file per district and month."""

from hmis.report.page import render_report, write_report

__all__ = ["render_report", "write_report"]
