"""Server settings from the environment (``CSPERMIT_*``) or keyword arguments."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CSPERMIT_", extra="ignore")

    # A file by default: the embedded engine needs no set-up. PostgreSQL by URL,
    # e.g. postgresql+psycopg://user:pw@host/db
    db_url: str = Field(default="sqlite:///var/cspermit.db")
    # Access tokens for people (admins, reviewers, aggregators) expire; device tokens
    # live until revoked because tablets are offline for days.
    token_ttl_s: int = 8 * 3600
    device_token_ttl_s: int | None = None
    enrollment_code_ttl_s: int = 24 * 3600
    # Sign-in throttling: after this many failures in a row the username is locked
    # for lockout_s (doubling each further failure, capped at lockout_max_s).
    max_failed_sign_ins: int = 5
    # The same, counted per client address over every username it tries (one office's
    # NAT shares an address: kept well above the per-username limit).
    max_failed_sign_ins_per_address: int = 30
    lockout_s: int = 60
    lockout_max_s: int = 3600
    # Push limits, stated in the API docs: a batch over either answers 413.
    max_batch_events: int = 500
    max_batch_bytes: int = 4 * 1024 * 1024
    max_blob_bytes: int = 8 * 1024 * 1024
    # Admission control for pushes (sync_server/admission.py): bulk batches one worker
    # stores at once; past it a bulk batch waits up to bulk_wait_for_slot_s for a slot
    # (at most max_bulk_pushes_waiting of them wait), then answers 429 with Retry-After
    # (urgent ones never wait and are never deferred).
    # One: a worker's pushes share one interpreter lock (docs/server.md, measured).
    max_bulk_pushes_in_flight: int = 1
    bulk_wait_for_slot_s: float = 3.0
    max_bulk_pushes_waiting: int = 64
    bulk_retry_after_s: int = 1
    # Version conflicts kept for review per permit: past this, further forks are refused
    # (CONFLICT_LIMIT) and the permit is flagged, so one device cannot flood the review.
    max_conflicts_per_permit: int = 20
    # Device clock skew: an event dated more than this after its arrival is flagged.
    clock_ahead_tolerance_s: int = 120
    # argon2 cost; tests lower it, production keeps the library defaults.
    argon2_time_cost: int = 3
    argon2_memory_cost_kib: int = 65536
    # Plain HTTP is acceptable only behind a TLS-terminating proxy or on loopback.
    run_migrations: bool = True
    # The address phones reach this server at (e.g. https://codes.county.gov.cn): the QR on
    # a warning card is ``<public_base_url>/q/<token>``. No default: a card printed with a
    # guessed address would send every phone at the entrance nowhere (docs/server.md).
    public_base_url: str | None = None
