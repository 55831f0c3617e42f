"""`cspermit atmosphere ...`: the pre-entry atmosphere check and the profiles.

``check`` prints one JSON object on stdout and exits 0 (acceptable),
1 (not acceptable) or 2 (input invalid, with a message on stderr naming the
field). It never prints a traceback.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from permits.i18n import gettext as _

app = typer.Typer(
    help="Pre-entry atmosphere test against a profile / 有限空间气体检测判定",
    no_args_is_help=True,
)

EXIT_ACCEPTABLE = 0
EXIT_NOT_ACCEPTABLE = 1
EXIT_INVALID = 2
EXIT_INTERNAL = 3


def _fail(message: str, code: int = EXIT_INVALID) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A key given twice (e.g. two "status" keys) must not silently win.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(_("duplicate key {key!r}").format(key=key))
        out[key] = value
    return out


def _reject_constant(name: str) -> float:
    raise ValueError(_("{name} is not a number JSON allows").format(name=name))


def _read_json(path: Path) -> Any:
    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        _fail(_("cannot read {path}: {error}").format(path=path, error=exc.strerror or exc))
    except UnicodeDecodeError:
        _fail(_("{path} is not UTF-8 text").format(path=path))
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        _fail(
            _("{path} is not valid JSON: {error} at line {line}, column {column}").format(
                path=path, error=exc.msg, line=exc.lineno, column=exc.colno
            )
        )
    except ValueError as exc:
        _fail(_("{path} is not valid JSON: {error}").format(path=path, error=exc))
    except RecursionError:
        _fail(_("{path} is nested too deeply").format(path=path))


@app.command()
def check(
    case: Annotated[
        Path, typer.Argument(help="pre-entry test as JSON (docs/rules.md); - reads stdin")
    ],
    profile: Annotated[
        str, typer.Option("--profile", "-p", help="atmosphere profile name")
    ] = "cn-gongmao",
    override: Annotated[
        Path | None,
        typer.Option("--override", help="enterprise override (TOML); may only be stricter"),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="also write each reason and its remedy to stderr")
    ] = False,
) -> None:
    """Evaluate one pre-entry atmosphere test and print the verdict as JSON."""
    from permits.atmosphere import evaluate, parse_test
    from permits.errors import PermitError
    from permits.profiles import apply_override, load_profile

    try:
        chosen = load_profile(profile)
        if override is not None:
            try:
                raw = tomllib.loads(override.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                _fail(_("cannot read override {path}: {error}").format(path=override, error=exc))
            chosen = apply_override(chosen, raw)
        data = _read_json(case)
        test = parse_test(data)
        verdict = evaluate(test, chosen)
    except PermitError as exc:
        _fail(f"{case}: {exc}")
    except typer.Exit:
        raise
    except Exception as exc:  # never a traceback; never a verdict either
        _fail(_("internal error: {error}").format(error=repr(exc)), EXIT_INTERNAL)
    typer.echo(json.dumps(verdict.as_dict(), ensure_ascii=False))
    if explain:
        for reason in verdict.reasons:
            typer.echo(f"{reason.code}: {reason.message()} — {reason.remedy()}", err=True)
        for warning in verdict.warnings:
            typer.echo(f"{warning.code}: {warning.message()}", err=True)
    raise typer.Exit(EXIT_ACCEPTABLE if verdict.acceptable else EXIT_NOT_ACCEPTABLE)


@app.command("profiles")
def profiles(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List the atmosphere profiles with the source of each rule."""
    from permits.profiles import DEFAULT_PROFILE, list_profiles, load_profile

    listing = []
    for name in list_profiles():
        item = load_profile(name)
        listing.append(
            {
                "name": item.name,
                "default": item.name == DEFAULT_PROFILE,
                "title": item.title,
                "rule_sources": item.rule_sources,
                "sources": item.sources,
            }
        )
    if as_json:
        typer.echo(json.dumps(listing, ensure_ascii=False, indent=1))
        return
    for entry in listing:
        mark = _(" (default)") if entry["default"] else ""
        typer.echo(f"{entry['name']}{mark}: {entry['title']}")
        for rule, source in entry["rule_sources"].items():
            typer.echo(f"  {rule}: {source}")
        for key, source in entry["sources"].items():
            typer.echo(f"  [{key}] {source}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
