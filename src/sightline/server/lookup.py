"""What every route looks up first: the app's services and the model a path names."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from sightline.errors import NotFoundError
from sightline.schema import ModelSchema
from sightline.store import ModelInfo

__all__ = ["model_info", "model_schema", "services"]


def services(request: Request) -> Any:
    """The app's stores, runner, alerting and settings (see ``create_app``)."""
    return request.app.state.services


def model_info(svc: Any, model: str) -> ModelInfo:
    """The model named ``model``: one that logged predictions or service events, else 404."""
    info: ModelInfo | None = next((m for m in svc.predictions.models() if m.name == model), None)
    if info is None:
        raise NotFoundError(f"model '{model}' has logged nothing yet")
    return info


def model_schema(svc: Any, model: str) -> ModelSchema:
    """The pinned schema of ``model``, for what needs predictions (rows, references): 404 for a
    model that has logged nothing, or only service events."""
    schema: ModelSchema | None = svc.predictions.schema(model)
    if schema is None:
        model_info(svc, model)  # 404 for a model never seen
        raise NotFoundError(
            f"model '{model}' has logged service events only, no predictions yet: log "
            "predictions (sightline.log_prediction, log_batch or sightline ingest) first"
        )
    return schema
