"""A tablet process for the crash tests: ``python -m tests.reliability.tablet_writer STORE
KEYFILE PERMITS EVENTS``. It appends signed events (and a readings chunk every third
event) to the production tablet store, one committed write at a time, continuing each
permit's chain from what the store already holds, and prints ``event <id>`` / ``chunk
<sha>`` after each commit returns. The parent kills it with SIGKILL at a random instant;
whatever was printed must be in the store afterwards."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from tablet_app.store import Store
from tests.sync_server.chains import Tablet, drafted, filler

DEVICE_ID = "TAB-CHAOS"


def load_key(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(raw)
        tmp.replace(path)
    return Ed25519PrivateKey.from_private_bytes(path.read_bytes())


def main(argv: list[str]) -> None:
    store_path, key_path = Path(argv[1]), Path(argv[2])
    permits, per_permit = int(argv[3]), int(argv[4])
    tablet = Tablet(key=load_key(key_path), device_id=DEVICE_ID, enterprise_id="ent-a")
    with Store(store_path) as store:
        for p in range(permits):
            permit_id = f"TAB-P{p}"
            held = store.events_for_permit(permit_id)
            if held:
                tablet.heads[permit_id] = (held[-1]["seq"], held[-1]["hash"])
            for _ in range(per_permit):
                seq = tablet.heads.get(permit_id, (0, ""))[0] + 1
                payload = drafted("ent-a") if seq == 1 else filler(seq)
                ev = tablet.event(permit_id, payload)
                store.append_event(ev)
                print(f"event {ev['event_id']}", flush=True)
                if seq % 3 == 0:
                    data = f"{permit_id} readings up to seq {seq}".encode() * 50
                    digest = hashlib.sha256(data).hexdigest()
                    store.put_chunk(
                        digest,
                        data,
                        permit_id=permit_id,
                        device_serial="GASL-0A17",
                        started_at="2026-11-28T08:00:00+08:00",
                        ended_at="2026-11-28T08:01:00+08:00",
                        n_values=seq,
                    )
                    print(f"chunk {digest}", flush=True)


if __name__ == "__main__":
    main(sys.argv)
