"""The Sightline server: collector, query API, dashboard and the built-in scheduler."""

from sightline.server.app import create_app

__all__ = ["create_app"]
