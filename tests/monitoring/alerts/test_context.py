"""How an alert's context names the bin that moved most."""

from __future__ import annotations

import pytest

from sightline.monitoring.alerts.context import bin_text


@pytest.mark.parametrize(
    ("low", "high", "text"),
    [
        (30.0, 40.0, "age in [30, 40)"),
        (86.8312, None, "age >= 86.83"),
        (None, 18.0, "age < 18"),
        (None, None, "age (any value)"),
    ],
)
def test_a_bin_reads_as_its_range_with_open_ends_left_out(
    low: float | None, high: float | None, text: str
) -> None:
    assert bin_text("age", low, high) == text
