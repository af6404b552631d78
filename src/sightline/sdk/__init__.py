"""The SDK: log predictions and feedback from model code, in the background, never blocking."""

from sightline.sdk.client import Client

__all__ = ["Client"]
