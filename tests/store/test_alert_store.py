"""Contract of the alerting state store, run against every backend: instances and their
history, silences, groups and the outbox persist across reopening and round-trip exactly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sightline.errors import StoreError
from sightline.schema.alerts import (
    AlertInstance,
    GroupState,
    Matcher,
    Notification,
    NotifiedAlert,
    OutboxEntry,
    Silence,
    Transition,
)
from sightline.store import open_state_store
from sightline.store.alerts import AlertStore

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
BACKENDS = ["duckdb"]


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'state.duckdb'}"
    raise AssertionError(f"no set-up for backend {request.param!r}")


@pytest.fixture
def store(url: str) -> Iterator[AlertStore]:
    opened = open_state_store(url)
    yield opened
    opened.close()


def instance(fp: str, state: str = "firing", model: str = "churn") -> AlertInstance:
    return AlertInstance(
        fp,
        "drift",
        {"alertname": "drift", "model": model, "column": "age"},
        state=state,
        value=float("nan") if state == "pending" else 0.4,
        annotations={"summary": "age drifted"},
        context={"top_features": ["age (psi 0.4 vs 0.1)"], "baseline": None},
        active_since=T0,
        streak=2,
        fired_at=T0 + timedelta(minutes=5) if state == "firing" else None,
        updated_at=T0,
        last_window_start=T0 - timedelta(hours=1),
    )


def notification(n: int) -> Notification:
    alert = NotifiedAlert(
        "fp1", "firing", {"alertname": "drift"}, {"summary": "s"}, T0, None, "http://x/alerts/fp1",
        {"value": 0.4},
    )  # fmt: skip
    return Notification(
        f"n{n}", "g", "team", "firing", {"alertname": "drift"}, {"alertname": "drift"}, {},
        "http://x", (alert,), T0 + timedelta(minutes=n),
    )  # fmt: skip


def test_instances_and_transitions_persist(store: AlertStore, url: str):
    transition = Transition("fp1", "drift", {"model": "churn"}, T0, "pending", "firing", 0.4, T0)
    store.save_instances([instance("fp1"), instance("fp2", "pending")], [transition])
    store.save_instances([instance("fp3", model="fraud")], [])
    store.close()
    reopened = open_state_store(url)
    try:
        assert reopened.instance("fp1") == instance("fp1")
        assert [i.fingerprint for i in reopened.instances()] == ["fp1", "fp2", "fp3"]
        assert [i.fingerprint for i in reopened.instances(state="firing")] == ["fp1", "fp3"]
        assert [i.fingerprint for i in reopened.instances(model="fraud")] == ["fp3"]
        assert reopened.instance("fp2").value is None  # type: ignore[union-attr]  # NaN kept as null
        assert reopened.instance("nope") is None
        assert reopened.transitions("fp1") == [transition]
        assert reopened.transitions(model="fraud") == []
    finally:
        reopened.close()


def test_transitions_come_newest_first(store: AlertStore):
    for minute in (0, 2, 1):
        t = Transition("fp", "r", {}, T0 + timedelta(minutes=minute), "a", f"b{minute}")
        store.save_instances([], [t])
    assert [t.to_state for t in store.transitions("fp")] == ["b2", "b1", "b0"]
    assert len(store.transitions("fp", limit=2)) == 2


def test_an_instance_is_replaced_not_duplicated(store: AlertStore):
    store.save_instances([instance("fp1")], [])
    store.save_instances([instance("fp1", "resolved")], [])
    assert [i.state for i in store.instances()] == ["resolved"]


def test_silences_round_trip_and_delete(store: AlertStore):
    silence = Silence(
        "s1", (Matcher.parse("model=churn"), Matcher.parse("severity=~warn.*")), T0,
        T0 + timedelta(hours=2), "ana", "deploy", T0,
    )  # fmt: skip
    store.save_silence(silence)
    assert store.silences() == [silence]
    assert store.delete_silence("s1")
    assert not store.delete_silence("s1")
    assert store.silences() == []


def test_rules_set_through_the_api_persist_replace_and_delete(store: AlertStore, url: str):
    slow = {"name": "slow", "metric": "latency_p95", "condition": "> 500", "for": "15m"}
    store.save_rule(slow)
    store.save_rule({"name": "auc", "metric": "roc_auc", "condition": "< 0.7"})
    store.save_rule({**slow, "condition": "> 800"})
    store.close()
    reopened = open_state_store(url)
    try:
        assert [r["name"] for r in reopened.rules()] == ["auc", "slow"]
        assert reopened.rules()[1] == {**slow, "condition": "> 800"}
        assert reopened.delete_rule("auc")
        assert not reopened.delete_rule("auc")
        assert [r["name"] for r in reopened.rules()] == ["slow"]
    finally:
        reopened.close()


def test_groups_and_outbox_are_stored_together(store: AlertStore):
    group = GroupState("g", "team", "0", {"alertname": "drift"}, T0, T0, ["fp1"])
    entries = [
        OutboxEntry(
            f"e{n}",
            "team/0-webhook",
            notification(n),
            T0 + timedelta(minutes=n),
            next_attempt_at=T0 + timedelta(minutes=n),
        )
        for n in range(3)
    ]
    store.record_dispatch([group], [], entries)
    assert store.groups() == [group]
    assert [e.id for e in store.due(T0 + timedelta(minutes=1))] == ["e0", "e1"]
    assert store.due(T0 + timedelta(minutes=1))[0] == entries[0]
    store.update_entry(
        OutboxEntry(
            "e0",
            "team/0-webhook",
            notification(0),
            T0,
            status="delivered",
            attempts=1,
            delivered_at=T0,
        )
    )
    store.update_entry(
        OutboxEntry(
            "e1",
            "team/0-webhook",
            notification(1),
            T0 + timedelta(minutes=1),
            attempts=1,
            next_attempt_at=T0 + timedelta(hours=1),
            last_error="down",
        )
    )
    assert [e.id for e in store.due(T0 + timedelta(minutes=5))] == ["e2"]
    assert [e.id for e in store.entries()] == ["e2", "e1", "e0"]
    assert [e.id for e in store.entries("delivered")] == ["e0"]
    assert store.entries("pending", limit=1)[0].id == "e2"
    store.record_dispatch([], ["g"], [])
    assert store.groups() == []


def test_an_unusable_path_is_a_store_error(tmp_path: Path):
    bad = tmp_path / "not-a-dir"
    bad.write_text("x")
    with pytest.raises(StoreError):
        open_state_store(f"duckdb:///{bad / 'state.duckdb'}")
