"""Presenters for the set-up flows added to the screens: briefing with PIN and a drawn
signature, guardian handover signed by both, the group lockbox, the roster candidates,
what an entrant confirms, hazard reports with a photo, and the board's judgement of
more than one detector. Real ``permits`` rules, real store, no window."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from cspermit.demo import molasses_tank as demo
from cspermit.demo.tablet import EXPIRED_TRAINING_PERSON, demo_signature
from permits.events import IsolationMethod, Role
from permits.i18n import get_language, set_language
from permits.readings import Channel, Reading, Unit
from permits.state import Status
from tablet_app.presenters.atmosphere import AtmospherePresenter
from tablet_app.presenters.board import BoardPresenter
from tablet_app.presenters.closeout import CloseoutPresenter
from tablet_app.presenters.hazard_report import HazardReportPresenter
from tablet_app.presenters.home import HomePresenter
from tablet_app.presenters.setup import SetupPresenter
from tablet_app.signature import SignatureDrawing
from tablet_app.theme import Level

from .world import PINS, World, make_world

SPACE = "SP-MOLASSES-01"


@pytest.fixture
def english() -> Iterator[None]:
    before = get_language()
    set_language("en")
    yield
    set_language(before)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path)
    yield w
    w.store.close()


def drafted(w: World) -> SetupPresenter:
    w.sign_in(demo.LEADER)
    home = HomePresenter(w.context, w.desk)
    assert home.new_permit(SPACE, "清理糖蜜储罐底部结垢", required_certificates=("hot_work",)).ok
    return SetupPresenter(w.context, w.desk)


def staffed(w: World) -> SetupPresenter:
    setup = drafted(w)
    for pid, role in (
        (demo.PRINCIPAL, Role.APPROVER),
        (demo.GUARDIAN, Role.GUARDIAN),
        (demo.ENTRANT_A, Role.ENTRANT),
    ):
        assert setup.assign(pid, role).ok, setup.last.lines()
    return setup


def test_a_signature_is_a_deterministic_png_and_a_scribble_is_not_one() -> None:
    png = demo_signature().to_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and b"IDAT" in png
    assert hashlib.sha256(png).digest() == hashlib.sha256(demo_signature().to_png()).digest()
    dot = SignatureDrawing()
    dot.begin(0.5, 0.5)
    dot.extend(0.501, 0.5)
    assert not dot.is_signature() and not SignatureDrawing().is_signature()
    assert demo_signature().is_signature()


def test_briefing_needs_the_pin_and_a_drawn_signature_kept_as_an_attachment(
    world: World, english: None
) -> None:
    setup = staffed(world)
    assert not setup.sign_briefing(demo.ENTRANT_A, PINS[demo.ENTRANT_A], None).ok
    assert "Sign on the pad" in setup.view().refusal[0][0]
    pad = demo_signature()
    assert not setup.sign_briefing(demo.ENTRANT_A, "0000", pad).ok  # wrong PIN
    assert pad.points  # a refusal keeps the drawing for another try
    assert setup.sign_briefing(demo.ENTRANT_A, PINS[demo.ENTRANT_A], pad).ok
    assert not pad.strokes  # cleared once signed
    event = world.desk.session(world.context.permit_id).events[-1]
    digest = event.payload.signoff.signature_image_sha256
    assert digest == hashlib.sha256(world.store.attachment(digest) or b"").hexdigest()
    assert world.store.unacked_attachments() == [digest]  # synced before the event
    assert demo.ENTRANT_A in world.desk.state(world.context.permit_id).briefed


def test_guardian_handover_is_signed_by_both_and_only_by_the_guardian_on_duty(
    world: World, english: None
) -> None:
    setup = staffed(world)
    world.sign_in(demo.LEADER)
    assert setup.assign(demo.ELECTRICIAN, Role.GUARDIAN).ok
    world.sign_in(demo.GUARDIAN)
    assert setup.guardian_on_duty().ok
    world.sign_in(demo.LEADER)
    refused = setup.hand_over_guardian(demo.ELECTRICIAN, PINS[demo.ELECTRICIAN])
    assert not refused.ok and "Only the guardian on duty" in refused.error
    world.sign_in(demo.GUARDIAN)
    assert not setup.hand_over_guardian(demo.ELECTRICIAN, "0000").ok
    assert setup.hand_over_guardian(demo.ELECTRICIAN, PINS[demo.ELECTRICIAN]).ok
    payload = world.desk.session(world.context.permit_id).events[-1].payload
    assert (payload.outgoing.person_id, payload.incoming.person_id) == (
        demo.GUARDIAN,
        demo.ELECTRICIAN,
    )
    assert world.desk.state(world.context.permit_id).guardian == demo.ELECTRICIAN
    assert "孙涛" in setup.view().guardian
    # the domain refuses an incoming guardian who is not on the roster as guardian
    world.sign_in(demo.ELECTRICIAN)
    refused = setup.hand_over_guardian(demo.ENTRANT_B, PINS[demo.ENTRANT_B])
    assert not refused.ok and refused.unmet


def test_roster_candidates_show_lapsed_training_red_for_the_role(
    world: World, english: None
) -> None:
    setup = drafted(world)
    entrants = {c.person_id: c for c in setup.candidates(Role.ENTRANT)}
    assert entrants[EXPIRED_TRAINING_PERSON].blocked
    assert entrants[demo.PRINCIPAL].blocked  # no hot-work certificate for this work
    assert not entrants[demo.ENTRANT_A].blocked
    approvers = {c.person_id: c for c in setup.candidates(Role.APPROVER)}
    assert not approvers[demo.PRINCIPAL].blocked  # certificates are for entrants
    assert demo.LEADER not in approvers  # already on the roster


def test_group_lockbox_personal_locks_come_off_before_the_isolation(
    world: World, english: None
) -> None:
    setup = staffed(world)
    world.sign_in(demo.ELECTRICIAN)
    assert setup.apply_isolation(
        "IP-AGITATOR", IsolationMethod.ELECTRICAL_LOCKOUT, "L-101", "T-101", lockbox_id="LB-1"
    ).ok
    (line,) = setup.lockout_lines()
    assert "LB-1" in line[0] and "missing" in line[0] and line[1] is Level.WARN
    assert not setup.apply_personal_lock(demo.ENTRANT_A, "0000", "LB-1", "P-201").ok
    assert not setup.apply_personal_lock(demo.ENTRANT_A, PINS[demo.ENTRANT_A], "LB-9", "P-201").ok
    assert setup.apply_personal_lock(demo.ENTRANT_A, PINS[demo.ENTRANT_A], "LB-1", "P-201").ok
    assert setup.lockout_lines()[0][1] is Level.SAFE
    close = CloseoutPresenter(world.context, world.desk)
    world.sign_in(demo.LEADER)
    close.start_closing()  # a draft cannot start closing: the locks still come off first
    world.sign_in(demo.ELECTRICIAN)
    refused = close.remove_lock("L-101")
    assert not refused.ok and "LOCKBOX_HAS_PERSONAL_LOCKS" in refused.codes
    assert not close.remove_lock("P-201").ok  # not his lock
    world.sign_in(demo.ENTRANT_A)
    assert close.remove_lock("P-201").ok
    world.sign_in(demo.ELECTRICIAN)
    assert close.remove_lock("L-101").ok


def test_a_shared_isolation_point_stays_while_another_open_permit_depends_on_it(
    world: World, english: None
) -> None:
    """docs/rules.md, SIMOPS: a shared isolation point cannot be removed while any
    permit that depends on it is open; the refusal names that work, not an id."""
    from permits.events import Cancelled

    setup = staffed(world)
    first = world.context.permit_id
    world.sign_in(demo.ELECTRICIAN)
    assert setup.apply_isolation("IP-INLET", IsolationMethod.BLIND_FLANGE, "L-102", "T-102").ok, (
        setup.last.lines()
    )
    drafted(world)  # a second crew's permit on the same tank, behind the same blind
    second = world.context.permit_id
    assert second is not None and second != first
    world.context.permit_id = first
    close = CloseoutPresenter(world.context, world.desk)
    world.sign_in(demo.ELECTRICIAN)
    refused = close.remove_lock("L-102")
    assert not refused.ok and "shared with open work" in refused.error, refused
    assert "1号糖蜜储罐" in refused.error and second not in refused.error
    assert "L-102" in world.desk.state(first).isolations  # nothing was written
    world.sign_in(demo.LEADER)
    world.desk.record(second, Cancelled(reason="crew moved to tank 2"), actor=demo.LEADER)
    world.sign_in(demo.ELECTRICIAN)
    # Fail closed: other tablets' permits pulled from the server that cannot be read may
    # share the point; the removal waits for a sync that can be read.
    world.store.set_setting("simops_permits", [{"id": "X", "type": "no_such_type"}])
    refused = close.remove_lock("L-102")
    assert not refused.ok and "sync again" in refused.error, refused
    assert "L-102" in world.desk.state(first).isolations
    world.store.set_setting("simops_permits", [])
    assert close.remove_lock("L-102").ok, close.last


def test_an_entrant_confirms_the_recorded_values_per_point_and_the_verdict(
    world: World, english: None
) -> None:
    staffed(world)
    atmo = AtmospherePresenter(world.context, world.desk, world.feed)
    assert atmo.confirmation()[0][1] is Level.ALARM  # nothing passed yet
    world.air(25)
    for point in ("top", "middle", "bottom"):
        assert atmo.take_sample(point).ok
    world.sign_in(demo.GUARDIAN)
    assert atmo.record().ok
    rows = atmo.confirmation()
    assert "PASSED" in rows[0][0]
    assert [r[0].split(":")[0] for r in rows[1:]] == ["top", "middle", "bottom"]
    assert all("H2S 0.0 ppm" in r[0] and r[1] is Level.SAFE for r in rows[1:])


def test_a_hazard_report_keeps_its_photo_and_goes_into_the_open_permit(
    world: World, tmp_path: Path, english: None
) -> None:
    drafted(world)
    hz = HazardReportPresenter(world.context, world.desk)
    text = tmp_path / "note.png"
    text.write_text("not an image")
    assert not hz.choose_photo(text).ok and "not a PNG or JPEG" in hz.view().refusal[0][0]
    assert not hz.choose_photo(tmp_path / "missing.jpg").ok
    photo = tmp_path / "crack.png"
    photo.write_bytes(demo_signature().to_png())
    assert hz.choose_photo(photo).ok and "crack.png" in hz.view().photo
    assert not hz.report("  ").ok  # a title is needed
    assert hz.report("manhole cover cracked", "east manhole").ok
    (report,) = world.store.hazard_reports()
    assert report["photos"] == [hashlib.sha256(photo.read_bytes()).hexdigest()]
    assert report["permit_id"] == world.context.permit_id and report["space_id"] == SPACE
    assert world.store.attachment(report["photos"][0]) == photo.read_bytes()
    state = world.desk.state(world.context.permit_id)
    assert any("manhole cover cracked" in h for h in state.permit_hazards)
    assert hz.view().reports[0][1] is Level.WARN  # waiting for the server
    home = HomePresenter(world.context, world.desk).view()
    assert any("manhole cover cracked" in h for h in home.hazards)


def test_a_second_detector_raises_gas_alarms_but_its_silence_does_not_evacuate(
    world: World, english: None
) -> None:
    setup = staffed(world)
    world.sign_in(demo.ELECTRICIAN)
    for point, method, lock in (
        ("IP-AGITATOR", IsolationMethod.ELECTRICAL_LOCKOUT, "L-101"),
        ("IP-INLET", IsolationMethod.BLIND_FLANGE, "L-102"),
    ):
        assert setup.apply_isolation(point, method, lock, "T-" + lock).ok
    world.sign_in(demo.LEADER)
    assert setup.identify_hazard("H2S").ok
    assert setup.verify_isolation("IP-AGITATOR", "L-101").ok
    assert setup.verify_isolation("IP-INLET", "L-102").ok
    world.sign_in(demo.GUARDIAN)
    assert setup.start_ventilation().ok and setup.guardian_on_duty().ok
    assert setup.confirm_equipment(("SCBA", "harness", "tripod_winch")).ok
    atmo = AtmospherePresenter(world.context, world.desk, world.feed)
    board = BoardPresenter(world.context, world.desk, world.feed)
    world.air(25)
    for point in ("top", "middle", "bottom"):
        assert atmo.take_sample(point).ok
    assert atmo.record().ok
    world.sign_in(demo.LEADER)
    assert setup.sign_briefing(demo.ENTRANT_A, PINS[demo.ENTRANT_A], demo_signature()).ok
    world.sign_in(demo.PRINCIPAL)
    assert setup.approve().ok
    world.sign_in(demo.GUARDIAN)
    assert board.start_monitoring("bottom").ok

    def second(h2s: float) -> None:
        world.feed.add(
            Reading(
                device_serial="GASL-SECOND",
                channel=Channel.H2S,
                value=h2s,
                unit=Unit.PPM,
                received_at=world.clock.now,
            )
        )

    for _ in range(5):
        world.air(1)
        second(0.0)
    assert board.tick() == []
    world.air(60)  # the second portable is put away: no stale alarm for it
    assert board.tick() == []
    for _ in range(3):
        world.air(1)
        second(9.0)  # above the entry limit at its point
    raised = board.tick()
    assert raised and raised[0].startswith("TOXIC_HIGH-H2S")
    assert world.desk.state(world.context.permit_id).status is Status.EVACUATING
