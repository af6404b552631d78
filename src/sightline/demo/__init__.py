"""The simulated model service behind ``sightline demo``."""

from sightline.demo.service import run_demo

__all__ = ["run_demo"]
