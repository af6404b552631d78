"""The alerting API: alerts and their history, acknowledgement, silences, rules, the outbox.

GET    /v1/alerts?state=firing&model=churn    alerts (each with why it is muted, if it is)
GET    /v1/alerts/history?model=&limit=       state changes, newest first
GET    /v1/alerts/{fingerprint}               one alert and its history
POST   /v1/alerts/{fingerprint}/ack           {"by": "ana", "comment": "on it"}
GET    /v1/silences?expired=false             silences
POST   /v1/silences                           {"matchers": ["model=churn"], "duration": "2h"}
DELETE /v1/silences/{id}                      end a silence now
GET    /v1/rules                              effective rules, routes, channels, inhibition
GET    /v1/rules/{name}                       one rule (and its definition, if set here)
PUT    /v1/rules/{name}                       {"metric": "roc_auc", "condition": "< 0.7"}
DELETE /v1/rules/{name}                       remove a rule set through the API
GET    /v1/notifications?status=failed        the outbox with delivery status and errors
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from sightline.errors import NotFoundError, ValidationError
from sightline.monitoring.alerts import Alerting, Rule
from sightline.monitoring.config import parse_duration
from sightline.schema import parse_time
from sightline.schema.alerts import STATES, AlertInstance, OutboxEntry, Silence
from sightline.server.lookup import services

__all__ = ["router"]

router = APIRouter(tags=["alerting"])

STATE = Query(None, description="inactive, pending, firing or resolved")


def alerting(request: Request) -> Alerting:
    engine: Alerting = services(request).alerting
    return engine


def alert_view(engine: Alerting, instance: AlertInstance) -> dict[str, Any]:
    view = instance.to_dict()
    view["muted"] = engine.muted(instance)
    view["url"] = f"{engine.config.external_url}/alerts/{instance.fingerprint}"
    return view


def silence_view(engine: Alerting, silence: Silence) -> dict[str, Any]:
    view = silence.to_dict()
    view["status"] = silence.status(engine.clock.now())
    return view


def entry_view(entry: OutboxEntry) -> dict[str, Any]:
    """An outbox entry without the full notification (its summary instead)."""
    view = entry.to_dict()
    notification = view.pop("notification")
    view["notification"] = {
        "id": notification["id"],
        "receiver": notification["receiver"],
        "status": notification["status"],
        "group_labels": notification["group_labels"],
        "alerts": [
            {"fingerprint": a["fingerprint"], "status": a["status"], "labels": a["labels"]}
            for a in notification["alerts"]
        ],
    }
    return view


@router.get("/v1/alerts")
def list_alerts(
    request: Request, state: str | None = STATE, model: str | None = None
) -> dict[str, Any]:
    """Alert instances (firing, pending, resolved ...), optionally of one state and model."""
    if state is not None and state not in STATES:
        raise ValidationError(
            f"unknown state {state!r}; use one of {', '.join(STATES)}", field="state"
        )
    engine = alerting(request)
    return {"alerts": [alert_view(engine, i) for i in engine.alerts(state, model)]}


@router.get("/v1/alerts/history")
def alert_history(
    request: Request,
    model: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> dict[str, Any]:
    """State changes and acknowledgements of every alert (of ``model``), newest first."""
    history = alerting(request).history(model=model, limit=limit)
    return {"history": [t.to_dict() for t in history]}


@router.get("/v1/alerts/{fingerprint}")
def get_alert(
    fingerprint: str, request: Request, limit: Annotated[int, Query(ge=1, le=10_000)] = 100
) -> dict[str, Any]:
    """One alert, with its context (value, threshold, window, top drifting features, links)
    and its history, newest first."""
    engine = alerting(request)
    instance = engine.alert(fingerprint)
    history = engine.history(fingerprint, limit=limit)
    return {"alert": alert_view(engine, instance), "history": [t.to_dict() for t in history]}


class AckRequest(BaseModel):
    by: str = Field(default="", max_length=200, description="who is handling it")
    comment: str = Field(default="", max_length=2000)


@router.post("/v1/alerts/{fingerprint}/ack")
async def ack_alert(
    fingerprint: str, request: Request, body: AckRequest | None = None
) -> dict[str, Any]:
    """Acknowledge a pending or firing alert: it stays visible but is no longer repeated."""
    engine = alerting(request)
    body = body or AckRequest()
    instance = await run_in_threadpool(engine.acknowledge, fingerprint, body.by, body.comment)
    return {"alert": alert_view(engine, instance)}


@router.get("/v1/silences")
def list_silences(request: Request, expired: bool = False) -> dict[str, Any]:
    """Active and pending silences (``expired=true``: ended ones too), newest first."""
    engine = alerting(request)
    return {"silences": [silence_view(engine, s) for s in engine.silences(expired)]}


class SilenceRequest(BaseModel):
    matchers: list[str] = Field(description="label matchers: model=churn, alertname=~.*drift")
    duration: str | float | None = Field(None, description="how long: 2h, 30m, or seconds")
    starts_at: str | float | None = Field(None, description="default: now")
    ends_at: str | float | None = Field(None, description="instead of a duration")
    created_by: str = Field("", max_length=200)
    comment: str = Field(default="", max_length=2000)


@router.post("/v1/silences", status_code=201)
async def create_silence(body: SilenceRequest, request: Request) -> dict[str, Any]:
    """Mute the notifications of every alert the matchers match, for a while."""
    engine = alerting(request)
    duration = None
    if body.duration is not None:
        try:
            duration = parse_duration(body.duration)
        except ValueError as error:
            raise ValidationError(str(error), field="duration") from None
    silence = await run_in_threadpool(
        lambda: engine.silence(
            body.matchers,
            duration=duration,
            starts_at=parse_time(body.starts_at, "starts_at") if body.starts_at else None,
            ends_at=parse_time(body.ends_at, "ends_at") if body.ends_at else None,
            created_by=body.created_by,
            comment=body.comment,
        )
    )
    return {"silence": silence_view(engine, silence)}


@router.delete("/v1/silences/{silence_id}")
async def delete_silence(silence_id: str, request: Request) -> dict[str, Any]:
    """End a silence now: its alerts are notified again (as new) at the next tick."""
    await run_in_threadpool(alerting(request).expire_silence, silence_id)
    return {"deleted": silence_id}


def rule_view(engine: Alerting, rule: Rule) -> dict[str, Any]:
    return {**rule.to_dict(), "source": engine.rule_source(rule.name)}


@router.get("/v1/rules")
def list_rules(request: Request) -> dict[str, Any]:
    """The effective rules (built-ins, the config file's, then those set through the API), the
    routing tree, channels (secrets hidden), inhibition rules and the delivery policy."""
    engine = alerting(request)
    config = engine.config
    policy = config.policy
    return {
        "rules": [rule_view(engine, r) for r in engine.rules],
        "route": policy.route.to_dict(),
        "channels": [c.public() for c in policy.channels],
        "inhibit_rules": [r.to_dict() for r in policy.inhibit_rules],
        "delivery": policy.delivery.__dict__,
        "external_url": config.external_url,
    }


@router.get("/v1/rules/{name}")
def get_rule(name: str, request: Request) -> dict[str, Any]:
    """One rule as evaluated, where it comes from and, when it was set through the API, the
    definition it was set with."""
    engine = alerting(request)
    rule = next((r for r in engine.rules if r.name == name), None)
    if rule is None:
        raise NotFoundError(f"no rule '{name}'")
    view = rule_view(engine, rule)
    if view["source"] == "api":
        view["definition"] = engine.definition(name)
    return view


@router.put("/v1/rules/{name}")
async def put_rule(name: str, body: dict[str, Any], request: Request) -> dict[str, Any]:
    """Add or replace a rule: the fields of an ``alerting.rules`` item of the config file, as
    JSON (``name`` may be left out). Kept in the state store: it survives restarts and is
    evaluated from the next window on. A mistake is a 422 naming the field."""
    engine = alerting(request)
    rule = await run_in_threadpool(engine.put_rule, name, body)
    return rule_view(engine, rule)


@router.delete("/v1/rules/{name}")
async def delete_rule(name: str, request: Request) -> dict[str, Any]:
    """Remove a rule set through the API: its pending alerts end, its firing alerts resolve."""
    transitions = await run_in_threadpool(alerting(request).delete_rule, name)
    return {"deleted": name, "ended_alerts": [t.fingerprint for t in transitions]}


@router.get("/v1/notifications")
def list_notifications(
    request: Request,
    status: str | None = Query(None, description="pending, delivered or failed"),
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> dict[str, Any]:
    """The outbox, newest first: each notification per channel with its delivery status,
    attempts, next attempt and last error."""
    if status is not None and status not in ("pending", "delivered", "failed"):
        raise ValidationError("status is pending, delivered or failed", field="status")
    engine = alerting(request)
    entries = engine.notifications(status, limit)
    return {"notifications": [entry_view(e) for e in entries], "status": engine.status()}
