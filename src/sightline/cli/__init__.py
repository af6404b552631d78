"""The ``sightline`` command line."""
