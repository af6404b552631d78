"""Reports: the ad-hoc comparison API and HTML/JSON rendering. Computes nothing itself."""

from sightline.reports.html import render_html
from sightline.reports.report import Report, compare, load_table

__all__ = ["Report", "compare", "load_table", "render_html"]
