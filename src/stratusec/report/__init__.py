"""Reports: one self-contained file per account (HTML today) from stored findings and
compliance results. ``html.render_html`` is a pure function of ``ReportData``; the data
is gathered by ``stratusec.operations.report``."""

from stratusec.report.html import ReportData, render_html

FORMATS = ("html",)

__all__ = ["FORMATS", "ReportData", "render_html"]
