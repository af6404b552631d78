"""The SDK: log predictions, feedback and service events from model code, in the background.

The integrations load on demand: :mod:`sightline.sdk.instrument` (a decorator for predict
functions), :mod:`sightline.sdk.asgi` (middleware for FastAPI/Starlette),
:mod:`sightline.sdk.log_handler` (a ``logging.Handler``); :meth:`Client.log_batch` loads
:mod:`sightline.sdk.batches` (pyarrow) for tables of batch models.
"""

from sightline.sdk.client import Client
from sightline.sdk.redaction import Redaction

__all__ = ["Client", "Redaction"]
