"""The one exception tree of Sightline.

Library code raises these; only the server maps them to HTTP statuses and only the CLI turns
them into exit codes. Every message says what was wrong, where, and what to do.

    SightlineError
    ├── ConfigError              a setting or config file is invalid
    │   └── ConfigErrors         several problems in one file (carries each message)
    ├── ValidationError          input data is malformed (carries the record index and field)
    │   ├── SchemaError          data conflicts with a model's pinned schema
    │   └── BatchError           several records of a batch are malformed (carries each error)
    ├── NotFoundError            a model, reference or window does not exist
    ├── StoreError               the prediction or metric store failed
    ├── ComputeError             a metric cannot be computed from the data given
    └── TransportError           the SDK or CLI could not reach the collector
        └── DeliveryError        a notification channel could not be reached or refused
"""

from __future__ import annotations

__all__ = [
    "BatchError",
    "ComputeError",
    "ConfigError",
    "ConfigErrors",
    "DeliveryError",
    "NotFoundError",
    "SchemaError",
    "SightlineError",
    "StoreError",
    "TransportError",
    "ValidationError",
]


class SightlineError(Exception):
    """Root of every error Sightline raises on purpose."""


class ConfigError(SightlineError):
    """A setting, an environment variable or a config file is invalid."""


class ConfigErrors(ConfigError):
    """Several problems in one config file; ``errors`` has one message per problem, each
    naming its line and field."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("\n".join(errors))


class ValidationError(SightlineError):
    """Input data is malformed.

    ``index`` is the position of the bad record in its batch (None when the error is about the
    batch as a whole) and ``field`` the dotted path of the bad field, e.g. ``features.age``.
    """

    def __init__(self, message: str, *, index: int | None = None, field: str | None = None):
        self.message = message
        self.index = index
        self.field = field
        where = []
        if index is not None:
            where.append(f"record {index}")
        if field:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)

    def to_dict(self) -> dict[str, object]:
        return {"index": self.index, "field": self.field, "message": self.message}


class SchemaError(ValidationError):
    """Data conflicts with the pinned schema of a model (a type change, a reserved name)."""


class BatchError(ValidationError):
    """Records of a batch are malformed; ``errors`` has one ValidationError per problem."""

    def __init__(self, errors: list[ValidationError]):
        self.errors = errors
        first = errors[0] if errors else ValidationError("invalid batch")
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first.message + more, index=first.index, field=first.field)

    def to_dict(self) -> dict[str, object]:
        return {"message": str(self), "errors": [e.to_dict() for e in self.errors]}


class NotFoundError(SightlineError):
    """A model, reference, window or other named thing does not exist."""


class StoreError(SightlineError):
    """The prediction store or the metric store failed."""


class ComputeError(SightlineError):
    """A metric cannot be computed from the data given (e.g. no reference)."""


class TransportError(SightlineError):
    """The SDK or the CLI could not reach the Sightline collector."""


class DeliveryError(TransportError):
    """A notification channel (webhook, Slack, SMTP, Alertmanager) could not be reached or
    refused a notification; the outbox retries it."""
