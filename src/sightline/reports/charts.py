"""Small inline SVG charts for self-contained reports (no JavaScript, no network)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["distribution_svg"]

REFERENCE_COLOR = "#8fa8c8"
CURRENT_COLOR = "#e4572e"


def distribution_svg(
    labels: Sequence[str],
    reference: Sequence[float],
    current: Sequence[float],
    *,
    width: int = 360,
    height: int = 120,
) -> str:
    """Reference and current shares as side-by-side bars, one pair per bin or category."""
    n = len(labels)
    if n == 0:
        return ""
    top = max([*reference, *current, 1e-12])
    plot_height = height - 18
    slot = width / n
    bar = max(slot * 0.4, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="reference vs current distribution">'
    ]
    for i, (label, ref, cur) in enumerate(zip(labels, reference, current, strict=True)):
        x = i * slot + slot * 0.1
        sides = ((0.0, ref, REFERENCE_COLOR, "reference"), (bar, cur, CURRENT_COLOR, "current"))
        for offset, share, color, side in sides:
            h = plot_height * share / top
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{plot_height - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{escape(str(label))}: {side} '
                f"{100 * share:.1f} %</title></rect>"
            )
    first, last = escape(str(labels[0])), escape(str(labels[-1]))
    parts.append(f'<text x="0" y="{height - 4}" font-size="10" fill="#555">{first}</text>')
    parts.append(
        f'<text x="{width}" y="{height - 4}" font-size="10" fill="#555" '
        f'text-anchor="end">{last}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
