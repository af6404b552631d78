"""HTML rendering of a comparison: one self-contained file that works offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from sightline.metrics.compare import Comparison
from sightline.reports.charts import distribution_svg

__all__ = ["render_html"]

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(),
)


def _chart(distribution: dict[str, Any]) -> str:
    if "categories" in distribution:
        labels = [str(c) for c in distribution["categories"]]
    elif "edges" in distribution:
        edges = distribution["edges"]
        labels = [f"{edges[i]:.4g}–{edges[i + 1]:.4g}" for i in range(len(edges) - 1)]
    else:
        return ""
    return distribution_svg(labels, distribution["reference"], distribution["current"])


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def render_html(comparison: Comparison, title: str = "Sightline report") -> str:
    """The comparison as a standalone HTML page."""
    return _templates.get_template("report.html").render(
        title=title,
        c=comparison,
        d=comparison.to_dict(),
        chart=_chart,
        fmt=_fmt,
    )
