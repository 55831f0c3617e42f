"""Sign-in: pick yourself from the people on this tablet, enter your PIN."""

from __future__ import annotations

from dataclasses import dataclass

from permits.reference.people import PIN_DIGITS
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk
from tablet_app.i18n import _
from tablet_app.pins import verify_pin

# After this many wrong PINs in a row the person waits for a supervisor reset.
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class SignInView:
    people: tuple[tuple[str, str], ...]  # (person id, name)
    selected: str | None
    selected_name: str
    pin_dots: str
    error: str
    signed_in: str | None


class SignInPresenter:
    def __init__(self, context: AppContext, desk: PermitDesk) -> None:
        self.context = context
        self.desk = desk
        self.selected: str | None = None
        self.pin = ""
        self.error = ""
        self._failures: dict[str, int] = {}

    def view(self) -> SignInView:
        people = tuple((p["id"], str(p["name"])) for p in self.desk.people())
        user = self.context.user
        return SignInView(
            people=people,
            selected=self.selected,
            selected_name=self.desk.person_name(self.selected) if self.selected else "",
            pin_dots="●" * len(self.pin),
            error=self.error,
            signed_in=user,
        )

    def select(self, person_id: str) -> None:
        self.selected, self.pin, self.error = person_id, "", ""

    def press(self, digit: str) -> None:
        if digit.isdigit() and len(self.pin) < PIN_DIGITS[1]:
            self.pin += digit

    def backspace(self) -> None:
        self.pin = self.pin[:-1]

    def submit(self) -> bool:
        pin, self.pin = self.pin, ""
        if self.selected is None:
            self.error = _("Choose your name first.")
            return False
        person = self.desk.person(self.selected)
        if self._failures.get(self.selected, 0) >= MAX_ATTEMPTS:
            self.error = _("Too many wrong PINs: ask the safety manager to reset your PIN.")
            return False
        if person is None or not person.get("pin_hash"):
            self.error = _("No PIN is set for this person: ask the safety manager.")
            return False
        if not verify_pin(pin, str(person["pin_hash"])):
            self._failures[self.selected] = self._failures.get(self.selected, 0) + 1
            self.error = _("Wrong PIN.")
            return False
        self._failures.pop(self.selected, None)
        self.context.user = self.selected
        self.error = ""
        return True

    def sign_out(self) -> None:
        self.context.user = None
        self.selected = None
