"""First sign-on (首次登录): a person enters the one-time code from their slip and
chooses their own PIN; nobody else ever knows it. Kivy-free.

The PIN is hashed here with the core's Argon2id rule (``tablet_app.pins``, the same
hash every sign-in verifies) and only the hash goes to the server, with the code. The
server checks the code at that moment, so this one step needs the network; the hash
lands in the person's ledger entry and every tablet of the enterprise pulls it with the
ledger (docs/tablet.md, "First sign-on").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from permits.errors import InvalidInput
from permits.reference.people import PIN_DIGITS
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk
from tablet_app.i18n import _
from tablet_app.pins import hash_pin

PIN, CONFIRM = "pin", "confirm"
MAX_PIN_DIGITS = PIN_DIGITS[1]  # the core checks every PIN against the same bounds


@dataclass(frozen=True)
class FirstSignOnView:
    people: tuple[tuple[str, str], ...]  # (person id, name)
    selected: str | None
    selected_name: str
    code: str
    pin_dots: str
    confirm_dots: str
    target: str  # which PIN the keypad types: PIN or CONFIRM
    error: str
    done: str


def _refusal(code: str, name: str, message: str) -> str:
    """The server's refusal in the person's words (the code says which)."""
    return {
        "SIGNON_CODE_INVALID": _(
            "This code is not valid for {name}: check the name and the code on the slip."
        ).format(name=name),
        "SIGNON_CODE_USED": _(
            "This code has already been used: ask the safety manager for a new slip."
        ),
        "SIGNON_CODE_EXPIRED": _("This code has expired: ask the safety manager for a new slip."),
        "SIGNON_CODE_REVOKED": _(
            "This code was replaced by a newer one: use the newest slip, or ask the safety manager."
        ),
        "SIGNON_THROTTLED": _(
            "Too many wrong codes on this tablet: wait a few minutes and try again."
        ),
        "TOKEN_REVOKED": _("This tablet was withdrawn from the server: ask the safety manager."),
        "DEVICE_REVOKED": _("This tablet was withdrawn from the server: ask the safety manager."),
    }.get(code, message or code)


class FirstSignOnPresenter:
    def __init__(self, context: AppContext, desk: PermitDesk, transport: Any = None) -> None:
        self.context = context
        self.desk = desk
        # httpx transport: None for the network; httpx.ASGITransport(app) in tests
        self.transport = transport
        self.selected: str | None = None
        self.code = ""
        self.pin = ""
        self.confirm = ""
        self.target = PIN
        self.error = ""
        self.done = ""

    def view(self) -> FirstSignOnView:
        return FirstSignOnView(
            people=tuple((p["id"], str(p["name"])) for p in self.desk.people()),
            selected=self.selected,
            selected_name=self.desk.person_name(self.selected) if self.selected else "",
            code=self.code,
            pin_dots="●" * len(self.pin),
            confirm_dots="●" * len(self.confirm),
            target=self.target,
            error=self.error,
            done=self.done,
        )

    def start(self, person_id: str | None) -> None:
        """Open for a person (the one chosen on the sign-in screen), everything blank."""
        self.selected = person_id
        self.code, self.pin, self.confirm = "", "", ""
        self.target, self.error, self.done = PIN, "", ""

    def select(self, person_id: str) -> None:
        self.start(person_id)

    def set_code(self, text: str) -> None:
        # as printed, in groups of five; spaces and lower case are forgiven
        self.code = "".join(text.split()).upper()

    def scanned(self, payload: str) -> None:
        """The QR on the slip holds the code as printed."""
        self.set_code(payload)

    def choose(self, target: str) -> None:
        if target in (PIN, CONFIRM):
            self.target = target

    def press(self, digit: str) -> None:
        if not digit.isdigit():
            return
        if self.target == PIN and len(self.pin) < MAX_PIN_DIGITS:
            self.pin += digit
        elif self.target == CONFIRM and len(self.confirm) < MAX_PIN_DIGITS:
            self.confirm += digit

    def backspace(self) -> None:
        if self.target == PIN:
            self.pin = self.pin[:-1]
        else:
            self.confirm = self.confirm[:-1]

    def _checked(self) -> str | None:
        """The PIN hash to send, or None with ``error`` set (nothing sent)."""
        if self.selected is None or self.desk.person(self.selected) is None:
            self.error = _("Choose your name first.")
            return None
        if not self.code:
            self.error = _("Enter the sign-on code from your slip.")
            return None
        if self.pin != self.confirm:
            self.pin, self.confirm, self.target = "", "", PIN
            self.error = _("The two PINs differ: enter the new PIN twice again.")
            return None
        try:
            return hash_pin(self.pin)
        except InvalidInput as exc:
            self.error = _("The PIN must be {rule}.").format(rule=exc.expected)
            return None

    async def submit(self) -> bool:
        """Send the code and the PIN's hash; on success the person's PIN is set on this
        tablet at once (and on the others when they pull the ledger)."""
        self.done = ""
        url = self.context.server_url or self.context.store.get_setting("server_url")
        token = self.context.store.get_setting("device_token")
        if not url or not token:
            self.error = _(
                "This tablet is not enrolled with the server: the first sign-on needs it"
                " (Settings)."
            )
            return False
        pin_hash = self._checked()
        if pin_hash is None or self.selected is None:
            return False
        name = self.desk.person_name(self.selected)
        from tablet_app.sync_client import ServerUnavailable, SyncClient, SyncClientError

        try:
            async with SyncClient(url, token=token, transport=self.transport) as client:
                await client.redeem_signon_code(self.code, self.selected, pin_hash)
        except ServerUnavailable:
            self.error = _(
                "The first sign-on needs the network: the server did not answer. Connect"
                " the tablet and try again; the code stays valid until it is used."
            )
            return False
        except SyncClientError as exc:
            self.error = _refusal(exc.code, name, str(exc))
            return False
        finally:
            self.pin, self.confirm, self.target = "", "", PIN
        row = self.desk.person(self.selected)
        if row is not None:  # this tablet accepts the PIN at once, before its next pull
            self.context.store.put_references("people", [{**row, "pin_hash": pin_hash}])
        self.code, self.error = "", ""
        self.done = _("PIN set for {name}: sign in with it now.").format(name=name)
        return True
