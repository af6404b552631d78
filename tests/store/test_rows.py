"""The rows query of the prediction store (the debug view's), run against every backend.

One model, 40 predictions in the hour [10:00, 11:00) (one every 90 s), a few outside it:
``x`` is the row number, ``plan`` cycles a, b, c and missing, ``flag`` is true on even rows,
and a feature whose name holds quotes and operators. Versions: v1 for the first 30 rows, v2
after. Every third prediction has ground truth (``x`` mod 2), some relabelled later.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sightline.errors import NotFoundError, ValidationError
from sightline.schema.rows import RowFilter, RowOrder, RowQuery, row_columns
from sightline.store import PredictionStore
from tests.store.test_contract import HOUR, T0, column, feedback, prediction, utc, write

WEIRD = 'a>b "q"'
PLANS = ["a", "b", "c", None]
N = 40


def seed(store: PredictionStore) -> None:
    rows = [
        prediction(
            n,
            T0 + timedelta(seconds=90 * n),
            features={"x": float(n), "plan": PLANS[n % 4], "flag": n % 2 == 0, WEIRD: -n},
            outputs={"score": n / 40},
            version="v1" if n < 30 else "v2",
        )
        for n in range(N)
    ]
    outside = [
        prediction(100, T0 - timedelta(microseconds=1), features={"x": 100.0}, outputs={}),
        prediction(101, HOUR.end, features={"x": 101.0}, outputs={}),
    ]
    labels = [feedback(f"req-{n}", n % 2, T0 + timedelta(hours=2)) for n in range(0, N, 3)]
    # Relabelled later: the latest label wins, in filters too.
    labels += [feedback("req-0", 1, T0 + timedelta(hours=3))]
    write(store, "m", rows + outside, labels)


@pytest.fixture
def store(predictions: PredictionStore) -> PredictionStore:
    seed(predictions)
    return predictions


def query(**kwargs: Any) -> RowQuery:
    return RowQuery(HOUR.start, HOUR.end, **kwargs)


def parse(store: PredictionStore, *texts: str) -> tuple[RowFilter, ...]:
    schema = store.schema("m")
    assert schema is not None
    return tuple(RowFilter.parse(t, row_columns(schema)) for t in texts)


def xs(store: PredictionStore, **kwargs: Any) -> list[float]:
    page = store.rows("m", query(limit=1000, **kwargs))
    return column(page.table, "x")


def test_the_window_is_listed_in_time_order_with_its_feedback(store: PredictionStore) -> None:
    page = store.rows("m", query())
    assert page.total == N
    assert column(page.table, "x") == [float(n) for n in range(N)]
    assert page.table.column_names == [
        "request_id", "ts", "model_version", "x", "plan", "flag", WEIRD, "score", "target",
        "feedback_ts",
    ]  # fmt: skip
    targets = dict(zip(column(page.table, "x"), column(page.table, "target"), strict=True))
    assert targets[0.0] == 1  # relabelled: the latest wins
    assert targets[3.0] == 1
    assert targets[6.0] == 0
    assert targets[1.0] is None
    assert utc(column(page.table, "feedback_ts")[0]) == T0 + timedelta(hours=3)
    assert utc(column(page.table, "ts")[1]) == T0 + timedelta(seconds=90)


def test_pages_cover_the_selection_once_and_keep_the_total(store: PredictionStore) -> None:
    seen: list[float] = []
    for offset in range(0, N, 7):
        page = store.rows("m", query(limit=7, offset=offset, order=RowOrder("plan")))
        assert page.total == N
        assert page.table.num_rows == min(7, N - offset)
        seen += column(page.table, "x")
    assert sorted(seen) == [float(n) for n in range(N)]
    past = store.rows("m", query(offset=500))
    assert (past.table.num_rows, past.total) == (0, N)


def test_ranges_are_inclusive_or_not_as_written(store: PredictionStore) -> None:
    assert xs(store, filters=parse(store, "x>=10", "x<13")) == [10.0, 11.0, 12.0]
    assert xs(store, filters=parse(store, "x>10", "x<=13")) == [11.0, 12.0, 13.0]
    assert xs(store, filters=parse(store, "score>=0.95")) == [38.0, 39.0]


def test_equal_values_of_one_column_are_any_of_them(store: PredictionStore) -> None:
    assert xs(store, filters=parse(store, "plan=a", "plan=c", "x<10")) == [0, 2, 4, 6, 8]
    # Different columns must all hold.
    assert xs(store, filters=parse(store, "plan=b", "flag=true")) == []
    assert xs(store, filters=parse(store, "plan=b", "flag=false", "x<12")) == [1.0, 5.0, 9.0]


def test_not_equal_keeps_missing_values_and_missing_is_a_filter(store: PredictionStore) -> None:
    assert xs(store, filters=parse(store, "plan!=a", "plan!=b", "x<8")) == [2, 3, 6, 7]
    assert xs(store, filters=parse(store, "plan is missing", "x<12")) == [3, 7, 11]
    assert len(xs(store, filters=parse(store, "plan is present"))) == 30
    assert xs(store, filters=parse(store, "target is present", "x<7")) == [0.0, 3.0, 6.0]


def test_ground_truth_filters_and_labelled(store: PredictionStore) -> None:
    labelled = list(range(0, N, 3))
    assert xs(store, labelled=True) == labelled
    assert len(xs(store, labelled=False)) == N - len(labelled)
    assert xs(store, filters=parse(store, "target=1")) == [n for n in labelled if n % 2 or n == 0]
    page = store.rows("m", query(labelled=True, limit=3, offset=2))
    assert (column(page.table, "x"), page.total) == ([6.0, 9.0, 12.0], len(labelled))


def test_order_by_any_column_either_way_missing_last(store: PredictionStore) -> None:
    assert xs(store, order=RowOrder("x", descending=True))[:3] == [39.0, 38.0, 37.0]
    by_target = xs(store, order=RowOrder("target", descending=True))
    assert by_target[:7] == [0.0, 3.0, 9.0, 15.0, 21.0, 27.0, 33.0]  # 1s, ties by time
    assert len(by_target) == N
    by_plan = xs(store, order=RowOrder("plan"))
    assert by_plan[:2] == [0.0, 4.0]
    assert by_plan[-1] == 39.0  # missing last, ties by time
    assert xs(store, order=RowOrder(WEIRD))[:2] == [39.0, 38.0]


def test_versions_time_and_booleans(store: PredictionStore) -> None:
    assert xs(store, model_version="v2") == [float(n) for n in range(30, N)]
    assert xs(store, model_version="v3") == []
    first = T0 + timedelta(seconds=90 * 37)
    assert xs(store, filters=parse(store, f"ts>={first.isoformat()}")) == [37.0, 38.0, 39.0]
    late = (T0 + timedelta(hours=2, minutes=30)).isoformat()
    assert xs(store, filters=parse(store, f"feedback_ts>{late}")) == [0.0]
    assert xs(store, filters=parse(store, "flag=true", "x<5")) == [0.0, 2.0, 4.0]


def test_columns_can_be_chosen_and_bookkeeping_listed(store: PredictionStore) -> None:
    page = store.rows("m", query(columns=("x", "tags", "record_id", "received_at", "target")))
    assert page.table.column_names == ["x", "tags", "record_id", "received_at", "target"]
    assert column(page.table, "tags")[2] == '{"n": "2"}'
    assert column(page.table, "record_id")[2] == "rec-2"


def test_names_and_values_are_never_sql(store: PredictionStore) -> None:
    weird = parse(store, f'"{WEIRD.replace(chr(34), chr(34) * 2)}"<=-38')
    assert xs(store, filters=weird) == [38.0, 39.0]
    hostile = parse(store, "plan=a'; DROP TABLE predictions_1; --")
    assert xs(store, filters=hostile) == []
    assert store.rows("m", query()).total == N


def test_unknown_columns_and_models_are_refused(store: PredictionStore) -> None:
    with pytest.raises(ValidationError) as error:
        store.rows("m", query(columns=("nope",)))
    assert error.value.field == "column"
    with pytest.raises(ValidationError):
        store.rows("m", query(filters=(RowFilter("nope", "=", "1"),)))
    with pytest.raises(ValidationError):
        store.rows("m", query(order=RowOrder("nope")))
    with pytest.raises(NotFoundError):
        store.rows("other", query())


def test_a_model_without_ground_truth_lists_empty_targets(predictions: PredictionStore) -> None:
    write(predictions, "m", [prediction(n, T0 + timedelta(minutes=n)) for n in range(3)])
    page = predictions.rows("m", query(labelled=False, order=RowOrder("target")))
    assert page.total == 3
    assert column(page.table, "target") == [None, None, None]


FILTERS = st.lists(
    st.one_of(
        st.tuples(st.just("x"), st.sampled_from([">=", "<", ">", "<=", "=", "!="]),
                  st.integers(-1, 41).map(str)),
        st.tuples(st.just("plan"), st.sampled_from(["=", "!="]), st.sampled_from("abcz")),
        st.tuples(st.sampled_from(["plan", "target"]), st.sampled_from([" is missing",
                  " is present"]), st.just("")),
        st.tuples(st.just("target"), st.sampled_from(["=", "!="]), st.sampled_from("01")),
    ),
    max_size=4,
)  # fmt: skip


COMPARE = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def matches(row: dict[str, Any], filters: list[tuple[str, str, str]]) -> bool:
    """The filter semantics, written plainly: ``=`` on one column is any-of, the rest all."""
    equal: dict[str, set[Any]] = {}
    for name, op, text in filters:
        value = row[name]
        wanted: Any = float(text) if name in ("x", "target") and text else text
        if op == "=":
            equal.setdefault(name, set()).add(wanted)
            continue
        passes = {
            "!=": value is None or value != wanted,
            " is missing": value is None,
            " is present": value is not None,
        }.get(op)
        if passes is None:  # a range
            passes = value is not None and COMPARE[op](value, wanted)
        if not passes:
            return False
    return all(row[name] in values for name, values in equal.items())


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(filters=FILTERS, descending=st.booleans(), limit=st.integers(1, 50))
def test_the_store_agrees_with_plain_filtering(
    store: PredictionStore, filters: list[tuple[str, str, str]], descending: bool, limit: int
) -> None:
    everything = store.rows("m", query(limit=1000)).table.to_pylist()
    expected = [r["x"] for r in everything if matches(r, filters)]
    expected.sort(reverse=descending)
    offset = random.Random(limit).randrange(0, 5)
    page = store.rows(
        "m",
        query(
            filters=parse(store, *(f"{n}{op}{v}" for n, op, v in filters)),
            order=RowOrder("x", descending),
            limit=limit,
            offset=offset,
        ),
    )
    assert page.total == len(expected)
    assert column(page.table, "x") == expected[offset : offset + limit]
