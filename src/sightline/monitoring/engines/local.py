"""The local engine: a window's rows read into this process as Arrow, sliced, kept raw.

Every slice keeps its rows, so the evaluation computes every metric exactly from them (KS on
all values, ROC AUC on every distinct score); the summaries kept for roll-ups are computed from
the same rows.

    >>> engine = LocalEngine()
    >>> slices = engine.summarize(source, window, plan)        # doctest: +SKIP
"""

from __future__ import annotations

from sightline.metrics.evaluation import SliceData, SliceKey
from sightline.metrics.segments import slice_table
from sightline.monitoring.engines import SummaryPlan, WindowSource
from sightline.schema import Window

__all__ = ["LocalEngine"]


class LocalEngine:
    """Reads each window whole and slices it with Arrow."""

    name = "local"

    def summarize(self, source: WindowSource, window: Window, plan: SummaryPlan) -> list[SliceData]:
        table = source.read(window)
        if table.num_rows == 0:
            return [SliceData(SliceKey(), 0, table)]
        segments = {column: plan.segment_values(column) for column in plan.segments}
        return [
            SliceData(SliceKey(*key), part.num_rows, part)
            for key, part in slice_table(
                table, versions=plan.versions, segments=segments, top_k=plan.top_segments
            )
        ]

    def close(self) -> None:
        pass
