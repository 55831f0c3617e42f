"""Hazard reports (隐患报告) from the field: a title, what was seen, and a photo.

The photo is stored as an attachment (content-addressed, uploaded by sync before
anything that names it); the report waits in the local store until the server
acknowledges it. With a permit open on this tablet the hazard also goes into that
permit's chain (``HazardIdentified``, naming the photo's hash), so the people on
the job and the bureau see it with the permit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from permits.events import HazardIdentified
from permits.state import TERMINAL
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk
from tablet_app.i18n import _
from tablet_app.presenters.common import Outcome, attempt
from tablet_app.theme import Level

MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


@dataclass(frozen=True)
class HazardReportView:
    title: str
    photo: str
    photo_level: Level
    reports: tuple[tuple[str, Level], ...]
    refusal: tuple[tuple[str, str], ...]
    done: str


def photo_type(data: bytes) -> str | None:
    return next((t for magic, t in PHOTO_TYPES.items() if data.startswith(magic)), None)


class HazardReportPresenter:
    def __init__(self, context: AppContext, desk: PermitDesk) -> None:
        self.context = context
        self.desk = desk
        self.photo: bytes | None = None
        self.photo_name = ""
        self.last: Outcome | None = None
        self.done = ""

    def choose_photo(self, path: str | Path) -> Outcome:
        """A photo from the file chooser (the camera's folder on a tablet)."""

        def do() -> str:
            file = Path(path)
            if not file.is_file():
                raise ValueError(_("photo: no file at {path}").format(path=file))
            if file.stat().st_size > MAX_PHOTO_BYTES:
                raise ValueError(
                    _("photo: {name} is over {mb} MB; choose a smaller one").format(
                        name=file.name, mb=MAX_PHOTO_BYTES // (1024 * 1024)
                    )
                )
            data = file.read_bytes()
            if photo_type(data) is None:
                raise ValueError(
                    _("photo: {name} is not a PNG or JPEG image").format(name=file.name)
                )
            self.photo, self.photo_name = data, file.name
            return file.name

        self.last = attempt(do)
        return self.last

    def clear_photo(self) -> None:
        self.photo, self.photo_name = None, ""

    def report(self, title: str, description: str = "") -> Outcome:
        """Keep the report (and its photo) until the server has it; with a permit open,
        record the hazard in its chain too."""

        def do() -> str:
            who = self.context.user
            if who is None:
                raise ValueError(_("Sign in first."))
            if not title.strip():
                raise ValueError(_("title: say in a few words what the hazard is"))
            photos = []
            if self.photo is not None:
                kind = photo_type(self.photo) or "application/octet-stream"
                photos.append(
                    self.desk.store.put_attachment(self.photo, content_type=kind, purpose="photo")
                )
            permit_id, space_id = self.context.permit_id, None
            if permit_id is not None:
                state = self.desk.state(permit_id)
                space_id = state.space.space_id if state.space else None
                if state.status in TERMINAL:
                    permit_id = None
            report_id = f"HR-{uuid.uuid4().hex[:10].upper()}"
            enterprise = self.context.store.get_setting("enterprise_id", "")
            if permit_id is not None:
                text = title.strip() + (f": {description.strip()}" if description.strip() else "")
                if photos:
                    text += " " + _("[photo sha256:{digest}]").format(digest=photos[0][:16])
                self.desk.record(permit_id, HazardIdentified(hazard=text), actor=str(who))
            self.context.store.add_hazard_report(
                {
                    "id": report_id,
                    "enterprise_id": enterprise,
                    "title": title.strip(),
                    "description": description.strip(),
                    "space_id": space_id,
                    "permit_id": permit_id,
                    "photos": photos,
                    "reported_by": str(who),
                    "reported_at": self.context.now().isoformat(),
                }
            )
            self.clear_photo()
            return report_id

        self.last = attempt(do)
        self.done = (
            # the title the reporter typed, not the report's id (people see words)
            _("Report “{title}” kept on the tablet; it is sent with the next sync.").format(
                title=title.strip()
            )
            if self.last.ok
            else ""
        )
        return self.last

    def view(self) -> HazardReportView:
        rows = []
        for r in reversed(self.context.store.hazard_reports()):
            photo = " · " + _("with photo") if r.get("photos") else ""
            if r.get("acked_at"):
                rows.append(
                    (
                        _("{title}: received by the server").format(title=r["title"]) + photo,
                        Level.SAFE,
                    )
                )
            else:
                text = _("{title}: waiting to be sent").format(title=r["title"]) + photo
                if r.get("last_error"):
                    text += " · " + _("server answered: {error}").format(error=r["last_error"])
                rows.append((text, Level.WARN))
        return HazardReportView(
            title=_("Report a hazard"),
            photo=(
                _("Photo: {name}").format(name=self.photo_name)
                if self.photo is not None
                else _("No photo chosen")
            ),
            photo_level=Level.SAFE if self.photo is not None else Level.UNKNOWN,
            reports=tuple(rows),
            refusal=tuple(self.last.lines()) if self.last and not self.last.ok else (),
            done=self.done,
        )
