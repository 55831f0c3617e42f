"""docs/cli.md documents every command of ``cspermit``: walk the Typer app's real command
tree (every group, every command, every argument and option) and look each one up in the
section of the page that belongs to it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer

from cspermit.cli import app

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
HEADING = re.compile(r"^(#{2,3}) `(cspermit(?: [a-z-]+)*)`", re.MULTILINE)


def _tree() -> tuple[list[str], dict[str, Any]]:
    """Group paths, and {command path: click command} for every leaf command."""
    groups: list[str] = []
    commands: dict[str, Any] = {}

    def walk(cmd: Any, path: str) -> None:
        subs = getattr(cmd, "commands", None)
        if subs is not None:  # a group
            groups.append(path)
            for name, sub in subs.items():
                walk(sub, f"{path} {name}")
        else:
            commands[path] = cmd

    walk(typer.main.get_command(app), "cspermit")
    return groups, commands


GROUPS, COMMANDS = _tree()


def _sections() -> dict[str, str]:
    """Heading path -> the text up to the next heading of any documented command."""
    text = DOC.read_text(encoding="utf-8")
    marks = list(HEADING.finditer(text))
    out = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out[m.group(2)] = text[m.end() : end]
    return out


SECTIONS = _sections()


def _names(param: Any) -> list[str]:
    """What a reader types: every option spelling (--x, -x, --no-x), or the argument's
    metavar (CASE, FILE)."""
    if type(param).__name__.endswith("Argument"):
        return [param.name.upper()]
    return [*param.opts, *param.secondary_opts]


def test_the_tree_is_what_the_page_expects() -> None:
    # Guards the walker itself: if Typer's internals change, this says so plainly.
    assert {"cspermit atmosphere", "cspermit detector", "cspermit server"} <= set(GROUPS)
    assert "cspermit atmosphere check" in COMMANDS
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize("group", [g for g in GROUPS if g != "cspermit"])
def test_every_group_has_its_section(group: str) -> None:
    assert group in SECTIONS, f"docs/cli.md: no '## `{group}`' section"


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_command_and_option_is_documented(path: str) -> None:
    assert path in SECTIONS, f"docs/cli.md: no '### `{path}`' section"
    section = SECTIONS[path]
    missing = [
        name
        for param in COMMANDS[path].params
        for name in _names(param)
        if f"`{name}`" not in section
    ]
    assert not missing, f"docs/cli.md, section {path}: not documented: {missing}"
    # Every command section says how it ends and shows itself in use.
    assert "exit" in section.lower(), f"docs/cli.md, section {path}: no exit codes"
    assert "```" in section and path.split()[-1] in section, f"{path}: no example"


def test_the_page_documents_no_command_that_does_not_exist() -> None:
    stale = set(SECTIONS) - set(COMMANDS) - set(GROUPS)
    assert not stale, f"docs/cli.md documents commands that do not exist: {sorted(stale)}"
