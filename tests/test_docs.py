"""The docs tell the truth about the code."""

from __future__ import annotations

import re

from sightline.cli.main import build_parser, settings_markdown
from tests.conftest import ROOT


def test_configuration_page_has_the_current_settings_table():
    page = (ROOT / "docs" / "configuration.md").read_text()
    embedded = re.search(r"<!-- settings-table -->\n(.*?)\n<!-- /settings-table -->", page, re.S)
    assert embedded, "docs/configuration.md lost its settings-table markers"
    assert embedded.group(1).strip() == settings_markdown().strip(), (
        "docs/configuration.md is stale: regenerate with `sightline settings --markdown`"
    )


def test_cli_page_names_every_command():
    page = (ROOT / "docs" / "cli.md").read_text()
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    missing = [name for name in commands if f"sightline {name}" not in page]
    assert not missing, f"docs/cli.md does not describe: {missing}"


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```\n(.*?)```", readme, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]
