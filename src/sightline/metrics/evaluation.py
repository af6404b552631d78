"""One slice evaluated against its reference: the single evaluation path of the engine.

A *slice* is a window's rows (or a model version's, or a segment's) as an engine delivered
them (:class:`SliceData`): its raw rows where the local engine has them, its mergeable
summaries always. A *baseline* (:class:`Baseline`) is what its reference gives every slice,
prepared once: the column profiles (bin edges, categories, sorted values), the column roles,
the reference's own quality and its sampling noise, and the fitted CBPE estimator.
:func:`evaluate_slice` turns the two into a :class:`SliceEvaluation` — drift, data quality,
label coverage and delay, realized quality, estimated quality — which the monitoring jobs turn
into metric points, :func:`sightline.compare` into a report and the model reports into HTML.

    >>> import pyarrow as pa
    >>> ref = pa.table({"x": [float(i % 40) for i in range(400)]})
    >>> cur = pa.table({"x": [float(i % 40) + 9 for i in range(400)]})
    >>> base = prepare_baseline(ref, {"x": ColumnKind.NUMERICAL})
    >>> result = evaluate_slice(base, SliceData.of(cur))
    >>> result.data.drifted_columns
    ['x']
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from sightline.errors import SightlineError
from sightline.metrics.columns import ColumnKind
from sightline.metrics.dataset import (
    DEFAULT_DRIFT_SHARE,
    DatasetReport,
    ReferenceProfile,
    compare_tables,
)
from sightline.metrics.estimation import CBPE, EstimatedQuality
from sightline.metrics.mapping import infer_mapping
from sightline.metrics.performance import (
    ClassificationQuality,
    RegressionQuality,
    classification_quality,
    regression_quality,
)
from sightline.metrics.sampling import unit_errors
from sightline.schema.mapping import ColumnMapping

__all__ = [
    "Baseline",
    "EvaluationOptions",
    "LabelStats",
    "Quality",
    "SliceData",
    "SliceEvaluation",
    "SliceKey",
    "evaluate_slice",
    "fit_estimator",
    "infer_output_roles",
    "prepare_baseline",
    "realized_quality",
    "reference_noise",
]

log = logging.getLogger(__name__)

Quality = ClassificationQuality | RegressionQuality


class SliceKey(NamedTuple):
    """Which rows of a window a slice holds: all (empty key), a model version, a segment."""

    model_version: str = ""
    segment_key: str = ""
    segment_value: str = ""


@dataclass(frozen=True)
class SliceData:
    """One slice of a window as an engine produced it.

    ``table`` holds the raw rows when the engine has them (the local engine), so that the
    methods that need raw values (exact KS, ROC AUC on every distinct score) use them.
    """

    key: SliceKey
    n_rows: int
    table: pa.Table | None = None

    @classmethod
    def of(cls, table: pa.Table, key: SliceKey | None = None) -> SliceData:
        """A slice of raw rows (all rows of the window unless ``key`` says otherwise)."""
        return cls(key or SliceKey(), table.num_rows, table)


@dataclass(frozen=True)
class Baseline:
    """The reference side of a slice, prepared once and shared by every window compared with
    it: column profiles, column roles (``mapping``; None when they cannot be told), the
    reference's realized ``quality``, its per-row sampling ``noise`` of each quality metric
    (see :func:`sightline.metrics.unit_errors`) and the fitted CBPE ``estimator``."""

    profile: ReferenceProfile
    source: str = ""
    mapping: ColumnMapping | None = None
    quality: Quality | None = None
    noise: Mapping[str, float] = field(default_factory=dict)
    estimator: CBPE | None = None
    notes: tuple[str, ...] = ()  # what could not be prepared, and why


@dataclass(frozen=True)
class EvaluationOptions:
    """What to compute for a slice and how (a monitor's suites and settings)."""

    drift: bool = True
    data_quality: bool = True
    model_quality: bool = True
    estimated_quality: bool = True
    methods: Mapping[str, str] = field(default_factory=dict)
    thresholds: Mapping[str, float] = field(default_factory=dict)
    min_rows: int = 30
    drift_share: float = DEFAULT_DRIFT_SHARE
    #: Check only these columns for schema changes (default: all columns of both sides).
    schema_columns: Collection[str] | None = None
    #: Count duplicated ids in this column (when the slice has it).
    id_column: str | None = None
    #: Return each column's mergeable summary (for roll-ups).
    summaries: bool = False


@dataclass(frozen=True)
class LabelStats:
    """Ground truth of a slice: how many rows have it, and how late it came (seconds)."""

    n_rows: int
    n_labelled: int
    delay_p50: float | None = None
    delay_p95: float | None = None
    n_delays: int = 0

    @property
    def coverage(self) -> float | None:
        return self.n_labelled / self.n_rows if self.n_rows else None


@dataclass(frozen=True)
class SliceEvaluation:
    """Everything known about one slice compared with its baseline."""

    key: SliceKey
    n_rows: int
    data: DatasetReport | None = None
    labels: LabelStats | None = None
    realized: Quality | None = None
    estimated: EstimatedQuality | None = None
    mapping: ColumnMapping | None = None
    notes: tuple[str, ...] = ()

    @property
    def checked(self) -> bool:
        """Whether the slice had enough data for its drift checks (always, without drift)."""
        return self.data is None or self.data.share_of_drifted_columns is not None


def evaluate_slice(
    baseline: Baseline,
    current: SliceData,
    options: EvaluationOptions | None = None,
    *,
    columns: Mapping[str, ColumnKind] | None = None,
    mapping: Callable[[pa.Table], ColumnMapping | None] | None = None,
) -> SliceEvaluation:
    """Evaluate one slice against its baseline, as ``options`` say.

    ``columns`` are the columns to compare (default: every profiled column the slice has).
    ``mapping`` infers the column roles from the slice's own rows when the baseline could not
    tell them (a reference without labels). Problems with one metric family (labels that do
    not fit the task, a single class) become ``notes``; the others are still computed.
    """
    options = options or EvaluationOptions()
    notes: list[str] = []
    table = current.table
    if table is None:
        raise SightlineError("this slice has no rows to evaluate")
    kinds = (
        dict(columns)
        if columns is not None
        else {n: p.kind for n, p in baseline.profile.columns.items()}
    )
    kinds = {n: k for n, k in kinds.items() if n in table.column_names}
    data = None
    if options.drift or options.data_quality:
        data = compare_tables(
            baseline.profile,
            table,
            kinds,
            methods=options.methods,
            thresholds=options.thresholds,
            min_rows=options.min_rows,
            drift_share=options.drift_share,
            id_column=options.id_column
            if options.id_column and options.id_column in table.column_names
            else None,
            summaries=options.summaries,
            schema_columns=options.schema_columns,
        )
    roles = baseline.mapping
    if roles is None and mapping is not None:
        roles = mapping(table)
    labels = realized = estimated = None
    target = roles.target if roles is not None and roles.target else "target"
    if options.model_quality and target in table.column_names:
        labels = label_stats(table, target)
        realized = _noted(lambda: realized_quality(roles, table), notes, "model quality")
    if options.estimated_quality and roles is not None and baseline.estimator is not None:
        score, label = roles.prediction_score, roles.prediction_label
        if score and score in table.column_names:
            predicted = table.column(label) if label and label in table.column_names else None
            estimator = baseline.estimator
            estimated = _noted(
                lambda: estimator.estimate(table.column(score), predicted=predicted),
                notes,
                "estimated quality",
            )
    return SliceEvaluation(
        current.key, current.n_rows, data, labels, realized, estimated, roles, tuple(notes)
    )


def _noted(compute: Callable[[], Any], notes: list[str], what: str) -> Any:
    try:
        return compute()
    except SightlineError as error:
        notes.append(f"{what} could not be computed: {error}")
        return None


def label_stats(table: pa.Table, target: str = "target") -> LabelStats:
    """Label coverage of a slice and, when its rows carry both times (``ts`` of the
    prediction, ``feedback_ts`` of its ground truth), the label delay's median and p95."""
    n = table.num_rows
    labelled = table.filter(pc.is_valid(table.column(target))) if n else table
    if not labelled.num_rows or "feedback_ts" not in labelled.column_names:
        return LabelStats(n, labelled.num_rows)
    delay = pc.drop_null(
        pc.divide(
            pc.cast(pc.subtract(labelled.column("feedback_ts"), labelled.column("ts")), pa.int64()),
            1e6,
        )
    )
    if not len(delay):
        return LabelStats(n, labelled.num_rows)
    p50, p95 = pc.quantile(delay, q=[0.5, 0.95]).to_pylist()
    return LabelStats(n, labelled.num_rows, p50, p95, len(delay))


# --- the reference side --------------------------------------------------------------------


def prepare_baseline(
    reference: pa.Table,
    columns: Mapping[str, ColumnKind],
    mapping: ColumnMapping | None = None,
    *,
    source: str = "",
    bounds: Mapping[str, tuple[float, float]] | None = None,
    noise: bool = False,
    profile: ReferenceProfile | None = None,
) -> Baseline:
    """The baseline of a reference table: ``columns`` profiled, and with ``mapping`` (the
    column roles) its realized quality, its sampling noise (``noise=True``: a bootstrap, dear
    on a large reference) and the CBPE estimator fitted on it."""
    profile = profile or ReferenceProfile.from_table(reference, columns, bounds=bounds)
    if mapping is None:
        return Baseline(profile, source)
    notes: list[str] = []
    quality = reference_quality(mapping, reference, source, notes)
    units = reference_noise(mapping, reference) if noise and quality is not None else {}
    estimator = fit_estimator(mapping, reference, notes)
    return Baseline(profile, source, mapping, quality, units, estimator, tuple(notes))


def realized_quality(mapping: ColumnMapping | None, table: pa.Table) -> Quality | None:
    """The realized quality of the labelled rows of ``table`` under ``mapping`` (None when
    the roles give nothing to measure: no target, no prediction; a result without values when
    no row is labelled). Raises ValidationError when the labels do not fit the task."""
    if mapping is None or not mapping.target or mapping.target not in table.column_names:
        return None
    target = mapping.target
    label = mapping.prediction_label if mapping.prediction_label in table.column_names else None
    score = mapping.prediction_score if mapping.prediction_score in table.column_names else None
    if mapping.task == "regression":
        return regression_quality(table.column(target), table.column(label)) if label else None
    if label is None and score is None:
        return None
    return classification_quality(
        table.column(target),
        predicted=table.column(label) if label else None,
        scores=table.column(score) if score else None,
        positive_label=mapping.positive_label,
    )


def reference_quality(
    mapping: ColumnMapping | None,
    reference: pa.Table,
    source: str = "",
    notes: list[str] | None = None,
) -> Quality | None:
    """The realized quality of the reference's labelled rows (None without labels; why, in
    ``notes``)."""
    try:
        return realized_quality(mapping, reference)
    except SightlineError as error:
        log.info("no reference quality from %s: %s", source or "the reference", error)
        if notes is not None:
            notes.append(f"model quality of the reference data could not be computed: {error}")
        return None


def reference_noise(mapping: ColumnMapping | None, reference: pa.Table) -> dict[str, float]:
    """Each quality metric's sampling noise at one row, bootstrapped from the reference's
    labelled rows (see :func:`sightline.metrics.unit_errors`); empty without labels."""
    if mapping is None or not mapping.target or mapping.target not in reference.column_names:
        return {}
    labelled = reference.filter(pc.is_valid(reference.column(mapping.target)))

    def metrics(rows: Any) -> dict[str, Any]:
        quality = realized_quality(mapping, labelled.take(rows))
        return quality.to_dict() if quality is not None else {}

    return unit_errors(metrics, labelled.num_rows)


def fit_estimator(
    mapping: ColumnMapping | None, reference: pa.Table, notes: list[str] | None = None
) -> CBPE | None:
    """CBPE fitted on the reference's labelled scores of a binary classifier (None when the
    model is no classifier with scores, or the reference cannot calibrate it: why, in
    ``notes``)."""
    if mapping is None or mapping.task != "classification":
        return None
    score, target = mapping.prediction_score, mapping.target
    if not score or not target:
        return None
    if score not in reference.column_names or target not in reference.column_names:
        return None
    positive = 1 if mapping.positive_label is None else mapping.positive_label
    try:
        return CBPE.fit(reference.column(score), reference.column(target), positive_label=positive)
    except SightlineError as error:
        log.info("no CBPE estimate from the reference: %s", error)
        if notes is not None:
            notes.append(f"estimated quality could not be computed: {error}")
        return None


def infer_output_roles(
    table: pa.Table, outputs: Collection[str], given: ColumnMapping, target: str = "target"
) -> ColumnMapping | None:
    """Which ``outputs`` are the score and the label (with the task and positive label), from
    the labelled rows of ``table``; ``given`` holds the configured roles. None when ``table``
    has no labelled row, or the roles cannot be told (logged)."""
    if target not in table.column_names:
        return None
    labelled = table.filter(pc.is_valid(table.column(target)))
    if labelled.num_rows == 0:
        return None
    present = [n for n in outputs if n in labelled.column_names]
    try:
        return infer_mapping(labelled.select([*present, target]), given)
    except SightlineError as error:
        log.warning("cannot tell the outputs' roles: %s", error)
        return None
