"""A decorator that monitors a predict function: its inputs, outputs, latency and exceptions.

    >>> @instrument("churn")                                    # doctest: +SKIP
    ... def predict(features: dict) -> float:
    ...     return model.predict_proba([list(features.values())])[0, 1]

Each call logs a prediction (features from the arguments, the return value as the prediction)
and a ``predict`` service event with its latency; a call that raises logs the event with the
exception's type and re-raises it untouched. Logging never raises into the caller.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from sightline.sdk.client import Client, default_client

__all__ = ["instrument"]

log = logging.getLogger("sightline")
F = TypeVar("F", bound=Callable[..., Any])
_SCALARS = (str, int, float, bool, type(None))


def instrument(
    model: str,
    *,
    client: Client | None = None,
    features: Callable[..., Mapping[str, Any]] | None = None,
    prediction: Callable[[Any], Any] | None = None,
    model_version: str | None = None,
    event: str = "predict",
) -> Callable[[F], F]:
    """Monitor the decorated function as ``model`` (sync or async).

    ``features(*args, **kwargs)`` picks the features from a call (default: a single mapping
    argument, else the scalar arguments by name); ``prediction(result)`` picks the prediction
    from the return value (default: the value itself). ``client`` defaults to the one of
    ``sightline.init()``.
    """

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)

        def pick(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Mapping[str, Any]:
            if features is not None:
                return features(*args, **kwargs)
            bound = signature.bind_partial(*args, **kwargs).arguments
            values = [v for k, v in bound.items() if k not in ("self", "cls")]
            if len(values) == 1 and isinstance(values[0], Mapping):
                return values[0]
            return {k: v for k, v in bound.items() if isinstance(v, _SCALARS)}

        def record(
            args: tuple[Any, ...],
            kwargs: dict[str, Any],
            started: float,
            result: Any,
            error: BaseException | None,
        ) -> None:
            target = client or default_client()
            if target is None:
                return
            latency = (time.perf_counter() - started) * 1000
            try:
                if error is None:
                    output = prediction(result) if prediction is not None else result
                    target.log_prediction(
                        model, pick(args, kwargs), output, model_version=model_version
                    )
                target.log_event(
                    model,
                    event,
                    latency_ms=latency,
                    status="ok" if error is None else "error",
                    error_type=type(error).__name__ if error is not None else None,
                    model_version=model_version,
                )
            except Exception:  # monitoring must never break the model
                log.debug("sightline: could not log a call of %s", fn.__name__, exc_info=True)

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as error:
                    record(args, kwargs, started, None, error)
                    raise
                record(args, kwargs, started, result, None)
                return result

            return cast(F, async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:
                record(args, kwargs, started, None, error)
                raise
            record(args, kwargs, started, result, None)
            return result

        return cast(F, wrapper)

    return decorate
