"""`cspermit permit ...`: verify and replay exported permit chains; write an example.

A stable contract for scripts and the bureau's tools:

* ``verify FILE.json``: exit 0 when the chain verifies against a trust anchor (the
  server's key for the export's attestation, ``--server-key`` or the trust store; or
  pinned ``--keys``); 1 when it does not, with the first bad ``seq``, a ``code`` and the
  ``reason`` as JSON on stdout, or ``NOT_ANCHORED`` when only the file's own keys were
  there to check with; 2 when the file cannot be read (a message on stderr).
* ``replay FILE.json``: the derived state, rule violations, MEM10 findings and
  flags as JSON; exit 0 only for a chain that verifies and breaks no rule.
* ``demo-export OUT.json``: a realistic signed example chain.

The file is ``{"permit_id", "events": [...], "devices": {id: base64 key}, "head",
"attestation"}`` or a bare list of events (then every device is unknown unless
``--keys`` names it). The ``devices`` in the file are never trusted on their own
(permits.attestation).
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


def _pinned(keys_file: Path | None) -> dict[str, str] | None:
    """Device keys from ``--keys``: they replace the file's own, never add to them."""
    if keys_file is None:
        return None
    pinned = _read_json(keys_file)
    if not isinstance(pinned, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in pinned.items()
    ):
        _fail(
            _("{path}: expected a JSON object of device_id: base64 public key").format(
                path=keys_file
            )
        )
    return pinned


def _anchor(server_key: str | None, keys_file: Path | None) -> tuple[Any, str]:
    """Where trust comes from, and its name for the report: ``--server-key``, pinned
    ``--keys``, the user's trust store, or nothing."""
    from cspermit import trust_store
    from permits.attestation import Anchor

    pinned = _pinned(keys_file)
    try:
        if server_key is not None:
            keys = tuple(trust_store.parse_key(server_key))
            source = "server-key"
        else:
            keys = tuple(s["public_key"] for s in trust_store.load())
            source = "trust-store" if keys else "none"
    except (trust_store.TrustStoreError, OSError) as exc:
        _fail(str(exc))
    if pinned is not None:
        source = "pinned-keys" if source == "none" else f"{source}+pinned-keys"
    return Anchor(server_keys=keys, device_keys=pinned), source


def _verify(export: Any, server_key: str | None, keys_file: Path | None) -> tuple[Any, str]:
    from permits.attestation import verify_anchored
    from permits.errors import InvalidInput

    anchor, source = _anchor(server_key, keys_file)
    try:
        return verify_anchored(export, anchor), source
    except InvalidInput as exc:
        _fail(str(exc))


def _read_export(path: Path) -> Any:
    from permits.errors import InvalidInput
    from permits.integrity import read_export

    try:
        return read_export(_read_json(path))
    except InvalidInput as exc:
        _fail(f"{path}: {exc}")


KeysOption = Annotated[
    Path | None,
    typer.Option(
        "--keys",
        help="JSON file of device_id: base64 Ed25519 public key (replaces the file's own keys)",
    ),
]
ServerKeyOption = Annotated[
    str | None,
    typer.Option(
        "--server-key",
        help="the server's public key (base64), or a file with it or with the JSON of "
        "GET /api/v1/server-key: the export's attestation must be signed by it",
    ),
]


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="exported permit chain (JSON)")],
    server_key: ServerKeyOption = None,
    keys: KeysOption = None,
) -> None:
    """Check hashes, links, sequence and signatures against keys from outside the file."""
    export = _read_export(file)
    result, source = _verify(export, server_key, keys)
    out = {**result.as_dict(), "anchor": source}
    events = export.events
    out["permit_id"] = export.permit_id or (
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
    server_key: ServerKeyOption = None,
    keys: KeysOption = None,
    now: Annotated[
        str | None, typer.Option("--now", help="judge expiry at this ISO 8601 time (default: now)")
    ] = None,
) -> None:
    """Fold the chain and re-check every rule: state, violations, hazard findings."""
    from permits.errors import InvalidInput
    from permits.events import parse_event
    from permits.replay import replay_permit as run_replay

    at = _parse_now(now)
    export = _read_export(file)
    integrity, source = _verify(export, server_key, keys)
    raw_events = export.events
    events: list[Event] = []
    for item in raw_events:
        # Replay what can be read; an unreadable event ends the replay (integrity names it).
        try:
            events.append(parse_event(item))
        except InvalidInput:
            break
    result = run_replay(events, at)
    out = {
        "integrity": {**integrity.as_dict(), "anchor": source},
        "replayed_events": len(events),
        **result.as_dict(),
    }
    _emit(out)
    raise typer.Exit(EXIT_OK if integrity.valid and result.clean else EXIT_INVALID)


@app.command("demo-export")
def demo_export(
    out: Annotated[Path, typer.Argument(help="where to write the example chain (JSON)")],
) -> None:
    """Write a signed example (a molasses tank job with an H2S alarm, re-test and close)
    and, beside it as OUT.keys.json, the demo device's public key for ``verify --keys``."""
    from cspermit.demo.molasses_tank import DEVICE_ID, demo_session
    from permits.integrity import DeviceKey, export_chain

    key = DeviceKey.generate(DEVICE_ID)
    session = demo_session(key)
    devices = {key.device_id: key.public_b64()}
    data = export_chain(session.events, devices)
    keys_out = out.with_name(out.stem + ".keys.json")
    try:
        out.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        keys_out.write_text(json.dumps(devices, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        _fail(_("cannot write {path}: {error}").format(path=out, error=exc))
    _emit(
        {
            "written": str(out),
            "keys": str(keys_out),
            "permit_id": data["permit_id"],
            "events": len(session.events),
        }
    )


trust_app = typer.Typer(
    help="Server keys trusted for offline verification / 离线校验信任的服务器密钥",
    no_args_is_help=True,
)
app.add_typer(trust_app, name="trust")


def _trust_failure(exc: Exception) -> NoReturn:
    _fail(str(exc))


@trust_app.command("add")
def trust_add(
    key: Annotated[
        str,
        typer.Argument(
            help="the server's public key (base64), or a file with it or with the JSON of "
            "GET /api/v1/server-key (its retired keys are trusted too)"
        ),
    ],
    name: Annotated[str, typer.Option("--name", help="what to call this server")] = "server",
) -> None:
    """Trust a server's key: compare its fingerprint with one from a channel you trust."""
    from cspermit import trust_store

    try:
        added = trust_store.add(key, name)
    except (trust_store.TrustStoreError, OSError) as exc:
        _trust_failure(exc)
    _emit({"store": str(trust_store.store_path()), "added": added})


@trust_app.command("list")
def trust_list() -> None:
    """The trusted server keys with their fingerprints."""
    from cspermit import trust_store

    try:
        servers = trust_store.load()
    except (trust_store.TrustStoreError, OSError) as exc:
        _trust_failure(exc)
    _emit({"store": str(trust_store.store_path()), "servers": servers})


@trust_app.command("remove")
def trust_remove(
    what: Annotated[str, typer.Argument(help="a trusted key's name, base64 key or fingerprint")],
) -> None:
    """Stop trusting a server key."""
    from cspermit import trust_store

    try:
        removed = trust_store.remove(what)
    except (trust_store.TrustStoreError, OSError) as exc:
        _trust_failure(exc)
    _emit({"store": str(trust_store.store_path()), "removed": removed})
    raise typer.Exit(EXIT_OK if removed else EXIT_INVALID)
