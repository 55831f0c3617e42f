"""`cspermit permit ...`: verify and replay exported permit chains; write an example.

A stable contract for scripts and the bureau's tools:

* ``verify FILE.json``: exit 0 when the chain verifies; 1 when it does not, with
  the first bad ``seq``, a ``code`` and the ``reason`` as JSON on stdout; 2 when
  the file cannot be read (a message on stderr).
* ``replay FILE.json``: the derived state, rule violations, MEM10 findings and
  flags as JSON; exit 0 only for a chain that verifies and breaks no rule.
* ``demo-export OUT.json``: a realistic signed example chain.

The file is ``{"permit_id", "events": [...], "devices": {id: base64 key}}`` or a
bare list of events (then every device is unknown unless ``--keys`` names it).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from permits.i18n import gettext as _

if TYPE_CHECKING:
    from permits.events import Event

# permits.events and permits.integrity pull in pydantic and cryptography (~0.4 s):
# they are imported inside the commands, so `cspermit --help` and the other groups
# do not pay for them.

app = typer.Typer(
    help="Permit event chains: verify, replay, example / 作业票事件链：校验、回放、示例",
    no_args_is_help=True,
)

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(EXIT_UNREADABLE)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A key given twice must not silently win: the hash would cover only one of them.
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
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(_("cannot read {path}: {error}").format(path=path, error=exc))
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except ValueError as exc:
        _fail(_("{path} is not valid JSON: {error}").format(path=path, error=exc))


def _emit(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def _keys(export_devices: dict[str, str], keys_file: Path | None) -> dict[str, str]:
    keys = dict(export_devices)
    if keys_file is not None:
        extra = _read_json(keys_file)
        if not isinstance(extra, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in extra.items()
        ):
            _fail(
                _("{path}: expected a JSON object of device_id: base64 public key").format(
                    path=keys_file
                )
            )
        keys.update(extra)
    return keys


def _load(path: Path, keys_file: Path | None) -> tuple[str | None, list[Any], dict[str, str]]:
    export = _read_export(path)
    return export.permit_id, export.events, _keys(export.devices, keys_file)


def _read_export(path: Path) -> Any:
    from permits.errors import InvalidInput
    from permits.integrity import read_export

    try:
        return read_export(_read_json(path))
    except InvalidInput as exc:
        _fail(f"{path}: {exc}")


KeysOption = Annotated[
    Path | None,
    typer.Option("--keys", help="JSON file of device_id: base64 Ed25519 public key"),
]


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="exported permit chain (JSON)")],
    keys: KeysOption = None,
) -> None:
    """Check hashes, links, sequence and signatures; name the first bad event."""
    from permits.integrity import check_head, verify_chain

    export = _read_export(file)
    permit_id, events = export.permit_id, export.events
    public_keys = _keys(export.devices, keys)
    result = check_head(verify_chain(events, public_keys, permit_id=permit_id), events, export.head)
    out = result.as_dict()
    out["permit_id"] = permit_id or (
        events[0].get("permit_id") if events and isinstance(events[0], dict) else None
    )
    _emit(out)
    raise typer.Exit(EXIT_OK if result.valid else EXIT_INVALID)


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        _fail(_("--now: expected an ISO 8601 time with offset, got {value!r}").format(value=value))
    if now.tzinfo is None:
        _fail(_("--now: expected an ISO 8601 time with offset, got {value!r}").format(value=value))
    return now


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="exported permit chain (JSON)")],
    keys: KeysOption = None,
    now: Annotated[
        str | None, typer.Option("--now", help="judge expiry at this ISO 8601 time (default: now)")
    ] = None,
) -> None:
    """Fold the chain and re-check every rule: state, violations, hazard findings."""
    from permits.errors import InvalidInput
    from permits.events import parse_event
    from permits.integrity import verify_chain
    from permits.replay import replay_permit as run_replay

    at = _parse_now(now)
    permit_id, raw_events, public_keys = _load(file, keys)
    integrity = verify_chain(raw_events, public_keys, permit_id=permit_id)
    events: list[Event] = []
    for item in raw_events:
        # Replay what can be read; an unreadable event ends the replay (integrity names it).
        try:
            events.append(parse_event(item))
        except InvalidInput:
            break
    result = run_replay(events, at)
    out = {
        "integrity": integrity.as_dict(),
        "replayed_events": len(events),
        **result.as_dict(),
    }
    _emit(out)
    raise typer.Exit(EXIT_OK if integrity.valid and result.clean else EXIT_INVALID)


@app.command("demo-export")
def demo_export(
    out: Annotated[Path, typer.Argument(help="where to write the example chain (JSON)")],
) -> None:
    """Write a signed example: a molasses tank job with an H2S alarm, re-test and close."""
    from cspermit.demo.molasses_tank import DEVICE_ID, demo_session
    from permits.integrity import DeviceKey, export_chain

    key = DeviceKey.generate(DEVICE_ID)
    session = demo_session(key)
    data = export_chain(session.events, {key.device_id: key.public_b64()})
    try:
        out.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        _fail(_("cannot write {path}: {error}").format(path=out, error=exc))
    _emit({"written": str(out), "permit_id": data["permit_id"], "events": len(session.events)})
