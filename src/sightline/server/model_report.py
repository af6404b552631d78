"""A model's report for a time range: its predictions (joined with their ground truth) compared
with its reference, by the engine's ad-hoc comparison, drawn as the standalone HTML report.

    >>> built = model_report(predictions, runner, "churn", start, end)   # doctest: +SKIP
    >>> built.report.drifted_columns                                     # doctest: +SKIP
    ['age']
    >>> Path("churn.html").write_text(built.to_html())                   # doctest: +SKIP

The column roles come from the model's configuration and schema (the same ones its monitoring
jobs use): features by their kind, the prediction score and label, the task, the positive
label, ``target`` from the feedback. The reference is the monitor's (an uploaded dataset, a
pinned range of production data, or, for a moving reference, the period of the same length just
before the range). Lives in the server layer because it joins monitoring (references, config)
and reports (rendering); the dashboard, the scheduled reports and ``sightline reports run``
share it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sightline.errors import ComputeError, NotFoundError, SightlineError, ValidationError
from sightline.metrics import ColumnKind, compare_datasets, infer_mapping
from sightline.monitoring import JobRunner
from sightline.monitoring.jobs import monitored_columns
from sightline.monitoring.references import Reference
from sightline.reports import Report, render_html
from sightline.schema import ModelSchema, Window, windows_between
from sightline.schema.mapping import ColumnMapping
from sightline.schema.monitors import ModelConfig, Monitor, ReferenceSpec
from sightline.store import PredictionStore

__all__ = [
    "DEFAULT_MAX_ROWS",
    "EmptyRangeError",
    "ModelReport",
    "model_report",
    "read_range",
    "report_mapping",
]

#: Most predictions one report reads by default (``SIGHTLINE_REPORT_MAX_ROWS``).
DEFAULT_MAX_ROWS = 5_000_000
#: ``reference=previous``: the period of the same length just before the range.
PREVIOUS = "previous"
SEGMENT_EXTRAS = ("model_version",)


class EmptyRangeError(ComputeError):
    """The model logged no prediction in the range: there is nothing to report on."""


@dataclass(frozen=True)
class ModelReport:
    """A report of ``model`` over ``[start, end)`` and what it was compared with."""

    model: str
    start: datetime
    end: datetime
    reference: str  # where the reference came from: "dataset:default", "production:<span>"
    report: Report
    segments: tuple[str, ...] = ()
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def n_rows(self) -> int:
        return self.report.comparison.data.n_current

    @property
    def title(self) -> str:
        return f"{self.model}: {_when(self.start)} – {_when(self.end)} UTC"

    def summary(self) -> str:
        """One line: rows on both sides and the drifted columns."""
        data = self.report.comparison.data
        share = data.share_of_drifted_columns
        drift = "n/a (too little data)" if share is None else f"{share:.0%}"
        drifted = f": {', '.join(data.drifted_columns)}" if data.drifted_columns else ""
        return (
            f"{data.n_current:,} predictions vs {data.n_reference:,} reference rows "
            f"({self.reference}); drifted columns: {len(data.drifted_columns)} of "
            f"{len(data.columns)} ({drift}){drifted}"
        )

    def to_html(self) -> str:
        title = f"{self.title} · vs {describe_reference(self.reference)}"
        return render_html(self.report.comparison, title=title)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.report.to_json(indent=None))  # finite numbers
        return {
            "model": self.model,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "reference": self.reference,
            "segment_columns": list(self.segments),
            **body,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False, default=str)


def describe_reference(source: str) -> str:
    """A reference's source for people: ``dataset:default`` → ``dataset 'default'``,
    ``production:<start>/<end>`` → ``production data 2026-03-02 – 2026-03-03``."""
    kind, _, rest = source.partition(":")
    if kind == "dataset":
        return f"dataset '{rest}'"
    prefix = {"production": "production data", "window": "production data"}.get(kind, kind)
    if kind == "version":  # version:<name>:<start>/<end>
        name, _, rest = rest.partition(":")
        prefix = f"version {name},"
    start, _, end = rest.partition("/")
    try:
        span = f"{_when(datetime.fromisoformat(start))} – {_when(datetime.fromisoformat(end))}"
    except ValueError:
        return source
    return f"{prefix} {span}"


def _when(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d") if ts.time() == datetime.min.time() else f"{ts:%Y-%m-%d %H:%M}"


def model_report(
    predictions: PredictionStore,
    runner: JobRunner,
    model: str,
    start: datetime,
    end: datetime,
    *,
    segments: Sequence[str] = (),
    reference: str | None = None,
    monitor: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> ModelReport:
    """Compare ``model``'s predictions in ``[start, end)`` with its reference.

    ``reference`` is the monitor's (None), ``"previous"`` (the period of the same length just
    before the range) or the name of an uploaded dataset. Raises ValidationError for a bad
    range, an unknown segment column or more than ``max_rows`` predictions, EmptyRangeError
    when the range holds none."""
    if end <= start:
        raise ValidationError("'end' must be after 'start'", field="end")
    schema = predictions.schema(model)
    if schema is None:
        raise NotFoundError(
            f"model '{model}' has logged no predictions yet: a report compares predictions "
            "with their reference"
        )
    config = runner.config(model)
    chosen = runner.monitor(model, monitor)
    allowed = [*schema.feature_names, *SEGMENT_EXTRAS]
    for column in segments:
        if column not in allowed:
            raise ValidationError(
                f"unknown segment column '{column}'; use one of: {', '.join(allowed)}",
                field="segment",
            )
    current = read_range(predictions, model, start, end, max_rows)
    if current.num_rows == 0:
        raise EmptyRangeError(
            f"model '{model}' has no predictions between {start.isoformat()} and "
            f"{end.isoformat()}; choose a range with data"
        )
    ref = _reference(predictions, runner, schema, chosen, reference, start, end)
    for column in segments:
        if column not in ref.table.column_names:
            raise ValidationError(
                f"segment column '{column}' is not in the reference ({ref.source}); choose "
                "another column or another reference",
                field="segment",
            )
    mapping = report_mapping(schema, config, ref.table, current, segments)
    report = Report(
        compare_datasets(
            ref.table,
            current,
            mapping,
            methods=chosen.methods,
            thresholds=chosen.thresholds,
            min_rows=chosen.min_rows,
            drift_share=chosen.drift_share,
            # The model's own columns: the stored ids and times are no schema change.
            schema_columns={c.name for c in schema.columns()},
        )
    )
    return ModelReport(model, start, end, ref.source, report, tuple(segments))


def read_range(
    predictions: PredictionStore, model: str, start: datetime, end: datetime, max_rows: int
) -> pa.Table:
    """The predictions of ``model`` in ``[start, end)`` joined with their feedback, refusing
    (ValidationError) more than ``max_rows``: read a day at a time when the model holds more
    than that, so memory stays bounded by the limit."""
    info = next((m for m in predictions.models() if m.name == model), None)
    if info is None:
        raise NotFoundError(f"model '{model}' has logged nothing yet")
    if info.n_predictions <= max_rows:
        return predictions.read_window(model, Window(start, end, "range"))
    parts: list[pa.Table] = []
    total = 0
    for day in windows_between(start, end, "1d"):
        span = Window(max(day.start, start), min(day.end, end), "range")
        part = predictions.read_window(model, span)
        total += part.num_rows
        if total > max_rows:
            raise ValidationError(
                f"the range holds more than {max_rows:,} predictions of model '{model}' (more "
                f"than {total:,} by {span.end:%Y-%m-%d}); choose a shorter range (or raise "
                "SIGHTLINE_REPORT_MAX_ROWS)",
                field="end",
            )
        if part.num_rows:
            parts.append(part)
    if not parts:
        return predictions.read_window(model, Window(start, start, "range"))
    return pa.concat_tables(parts, promote_options="default")


def _reference(
    predictions: PredictionStore,
    runner: JobRunner,
    schema: ModelSchema,
    monitor: Monitor,
    choice: str | None,
    start: datetime,
    end: datetime,
) -> Reference:
    spec = monitor.reference
    if choice:
        if choice == PREVIOUS:
            spec = ReferenceSpec("range", start=start - (end - start), end=start)
        elif predictions.reference_info(schema.model, choice) is None:
            names = [name for name, _, _ in predictions.references(schema.model)]
            known = ", ".join(names) if names else "none uploaded"
            raise ValidationError(
                f"model '{schema.model}' has no reference dataset '{choice}' (datasets: "
                f"{known}); or use reference=previous",
                field="reference",
            )
        else:
            spec = ReferenceSpec("dataset", name=choice)
    if spec.moving:  # a moving reference of a range: the period just before it
        spec = ReferenceSpec("range", start=start - (end - start), end=start)
    return runner.references.get(schema, spec, Window(start, end, monitor.granularity))


def report_mapping(
    schema: ModelSchema,
    config: ModelConfig,
    reference: pa.Table,
    current: pa.Table,
    segments: Sequence[str] = (),
) -> ColumnMapping:
    """The column roles of a model's report: the monitored features (config kinds win), the
    score and label outputs (configured, else inferred as the monitoring jobs do), the target
    and ids — only columns both sides have, which is what the engine compares."""
    both = set(reference.column_names) & set(current.column_names)
    kinds = {n: k for n, k in monitored_columns(schema, config).items() if n in both}
    outputs = [n for n in schema.output_names if n in kinds]
    target = "target" if schema.target is not None and "target" in both else None
    score = config.prediction_score if config.prediction_score in outputs else None
    label = config.prediction_label if config.prediction_label in outputs else None
    task, positive = config.task, config.positive_label
    if target and outputs:
        inferred = _output_roles(reference, current, outputs, target, config)
        if inferred is not None:
            score, label = inferred.prediction_score, inferred.prediction_label
            task, positive = inferred.task, inferred.positive_label
    roles = {score, label}
    features = [n for n in schema.feature_names if n in kinds]
    features += [n for n in outputs if n not in roles]  # other outputs: their drift
    return ColumnMapping(
        numerical_features=tuple(n for n in features if kinds[n] is ColumnKind.NUMERICAL),
        categorical_features=tuple(n for n in features if kinds[n] is ColumnKind.CATEGORICAL),
        target=target,
        prediction_label=label,
        prediction_score=score,
        positive_label=positive,
        task=task,
        id_column="request_id" if "request_id" in both else None,
        timestamp_column="ts" if "ts" in both else None,
        segments=tuple(segments),
        bounds=dict(config.bounds),
    )


def _output_roles(
    reference: pa.Table, current: pa.Table, outputs: list[str], target: str, config: ModelConfig
) -> ColumnMapping | None:
    """Which outputs are the score and the label, from the labelled rows (the reference's,
    else the current's), as the monitoring job infers them."""
    for source in (reference, current):
        labelled = source.filter(pc.is_valid(source.column(target)))
        if labelled.num_rows == 0:
            continue
        given = ColumnMapping(
            numerical_features=(),
            categorical_features=(),
            target=target,
            prediction_score=config.prediction_score,
            prediction_label=config.prediction_label,
            positive_label=config.positive_label,
            task=config.task,
        )
        try:
            return infer_mapping(labelled.select([*outputs, target]), given)
        except SightlineError:
            return None
    return None
