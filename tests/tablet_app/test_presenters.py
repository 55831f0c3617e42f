"""Each presenter with the real permit rules, the real store and live readings; no window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cspermit.demo import molasses_tank as demo
from cspermit.demo.tablet import EXPIRED_TRAINING_PERSON, demo_signature
from permits.events import IsolationMethod, Role
from permits.i18n import get_language, set_language
from permits.readings import StatusFlag
from permits.space_code import space_code
from permits.state import Status
from tablet_app.presenters.atmosphere import AtmospherePresenter
from tablet_app.presenters.board import BoardPresenter
from tablet_app.presenters.closeout import CloseoutPresenter
from tablet_app.presenters.home import HomePresenter
from tablet_app.presenters.settings import SettingsPresenter
from tablet_app.presenters.setup import SetupPresenter
from tablet_app.presenters.signin import SignInPresenter
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


def drafted(w: World) -> str:
    w.sign_in(demo.LEADER)
    home = HomePresenter(w.context, w.desk)
    outcome = home.new_permit_from_qr(
        space_code(w.context.store.get_setting("enterprise_id"), SPACE),
        "清理糖蜜储罐底部结垢",
        required_certificates=("hot_work",),
    )
    assert outcome.ok, outcome.lines()
    return outcome.value


def set_up(w: World) -> SetupPresenter:
    """Roster, isolations verified, ventilation, guardian, equipment: ready to test."""
    drafted(w)
    setup = SetupPresenter(w.context, w.desk)
    for pid, role in (
        (demo.PRINCIPAL, Role.APPROVER),
        (demo.GUARDIAN, Role.GUARDIAN),
        (demo.ENTRANT_A, Role.ENTRANT),
    ):
        assert setup.assign(pid, role).ok, setup.last.lines()
    assert setup.identify_hazard("H2S from molasses residue", ("blind the inlet",)).ok
    w.sign_in(demo.ELECTRICIAN)
    assert setup.apply_isolation(
        "IP-AGITATOR", IsolationMethod.ELECTRICAL_LOCKOUT, "L-101", "T-101"
    ).ok
    assert setup.apply_isolation("IP-INLET", IsolationMethod.BLIND_FLANGE, "L-102", "T-102").ok
    w.sign_in(demo.LEADER)
    assert setup.verify_isolation("IP-AGITATOR", "L-101").ok
    assert setup.verify_isolation("IP-INLET", "L-102").ok
    w.sign_in(demo.GUARDIAN)
    assert setup.start_ventilation(equipment="axial fan").ok
    assert setup.guardian_on_duty().ok, setup.last.lines()
    assert setup.confirm_equipment(("SCBA", "harness", "tripod_winch")).ok, setup.last.lines()
    return setup


def test_sign_in_checks_the_argon2_pin(world: World) -> None:
    p = SignInPresenter(world.context, world.desk)
    assert (demo.GUARDIAN, "李明") in p.view().people
    p.select(demo.GUARDIAN)
    for d in "9999":
        p.press(d)
    assert p.view().pin_dots == "●●●●"
    assert p.submit() is False and world.context.user is None and p.view().error
    for d in PINS[demo.GUARDIAN]:
        p.press(d)
    assert p.submit() is True and world.context.user == demo.GUARDIAN


def test_a_qr_code_of_another_enterprise_or_no_space_is_refused_with_what_to_do(
    world: World, english: None
) -> None:
    home = HomePresenter(world.context, world.desk)
    world.context.store.set_setting("enterprise_id", "ENT-SUGAR")
    foreign = home.new_permit_from_qr(space_code("ENT-OTHER", SPACE), "cleaning")
    assert not foreign.ok and "another enterprise" in (foreign.error or "")
    junk = home.new_permit_from_qr("hello", "cleaning")
    assert not junk.ok and "warning sign" in (junk.error or "")
    assert world.desk.permit_ids() == []


def test_a_new_permit_from_a_qr_code_shows_on_home_as_draft(world: World, english: None) -> None:
    permit_id = drafted(world)
    view = HomePresenter(world.context, world.desk).view()
    assert [(r.permit_id, r.status) for r in view.permits] == [(permit_id, "Draft")]
    assert view.sync_level is Level.WARN and "waiting" in view.sync  # nothing acked yet
    # the events are in the store, sealed
    stored = world.store.events_for_permit(permit_id)
    assert [e["type"] for e in stored] == ["drafted", "role_assigned"] and stored[0]["sig"]


def test_roster_blocks_expired_training_in_red(world: World, english: None) -> None:
    drafted(world)
    setup = SetupPresenter(world.context, world.desk)
    outcome = setup.assign(EXPIRED_TRAINING_PERSON, Role.ENTRANT)
    assert not outcome.ok and "training expired (2025-06-30)" in outcome.error
    # 陈刚's hot-work certificate is fine, 赵强 has none: he cannot be an entrant here
    assert setup.assign(demo.ENTRANT_B, Role.ENTRANT).ok
    refused = setup.assign(demo.PRINCIPAL, Role.ENTRANT)
    assert not refused.ok and "no hot_work certificate" in refused.error
    roles = {(r.person_id, r.level) for r in setup.view().roster}
    assert (demo.ENTRANT_B, Level.SAFE) in roles
    assert EXPIRED_TRAINING_PERSON not in {r.person_id for r in setup.view().roster}


def test_isolation_verified_by_the_applier_is_refused_with_the_domains_words(
    world: World, english: None
) -> None:
    drafted(world)
    setup = SetupPresenter(world.context, world.desk)
    world.sign_in(demo.ELECTRICIAN)
    assert setup.apply_isolation("IP-INLET", IsolationMethod.BLIND_FLANGE, "L-102", "T-102").ok
    row = next(r for r in setup.view().isolations if r.point_id == "IP-INLET")
    assert row.level is Level.WARN and "not verified" in row.text
    refused = setup.verify_isolation("IP-INLET", "L-102")
    assert not refused.ok and "VERIFIER_IS_APPLIER" in refused.codes
    unmet = next(u for u in refused.unmet if u.code == "VERIFIER_IS_APPLIER")
    assert (unmet.message(), unmet.remedy()) in setup.view().refusal  # shown verbatim
    assert not setup.apply_isolation("IP-INLET", IsolationMethod.BLIND_FLANGE, " ", "T-9").ok
    world.sign_in(demo.LEADER)
    assert setup.verify_isolation("IP-INLET", "L-102").ok
    assert next(r for r in setup.view().isolations if r.point_id == "IP-INLET").level is Level.SAFE


def test_atmosphere_sample_waits_for_steady_readings_and_never_shows_green_without_data(
    world: World, english: None
) -> None:
    set_up(world)
    atmo = AtmospherePresenter(world.context, world.desk, world.feed)
    view = atmo.view()
    assert all(line.level is Level.UNKNOWN for line in view.live) and not view.stable
    assert view.verdict_level is Level.UNKNOWN
    assert not atmo.take_sample("top").ok  # no data yet
    world.air(3)
    assert not atmo.take_sample("top").ok  # too few readings to call steady
    world.air(10)
    for point in ("top", "middle"):
        assert atmo.take_sample(point).ok
    world.air(25, h2s=12.0)  # probe at the bottom: H2S from the residue
    assert atmo.take_sample("bottom").ok
    recorded = atmo.record()
    assert recorded.ok, recorded.lines()
    view = atmo.view()
    assert view.verdict_level is Level.ALARM and "FAILED" in view.verdict
    assert any("H2S" in m for m, _ in view.reasons)


def test_faulty_sensor_fails_closed_and_manual_values_need_a_countersign(
    world: World, english: None
) -> None:
    set_up(world)
    atmo = AtmospherePresenter(world.context, world.desk, world.feed)
    world.air(25, status=frozenset({StatusFlag.FAULT}))
    h2s = next(line for line in atmo.view().live if line.channel == "H2S")
    assert h2s.level is Level.ALARM and "sensor fault" in h2s.text
    for point in ("top", "middle", "bottom"):
        assert atmo.take_sample(point).ok
    assert atmo.record().ok
    assert atmo.view().verdict_level is Level.ALARM
    assert world.desk.state(world.context.permit_id).latest_test.acceptable is False

    values = {"O2": (20.9, "%VOL"), "LEL": (0.0, "%LEL"), "H2S": (0.0, "ppm"), "CO": (0.0, "ppm")}
    for point in ("top", "middle", "bottom"):
        assert atmo.enter_manual(point, values).ok
    world.store.set_setting("manual_detector_serial", demo.DETECTOR.serial)
    assert not atmo.record().ok  # no countersign
    assert not atmo.record(countersigner=demo.LEADER, countersigner_pin="0000").ok
    assert atmo.record(countersigner=demo.LEADER, countersigner_pin=PINS[demo.LEADER]).ok
    view = atmo.view()
    assert view.verdict_level is Level.SAFE and "flagged to the bureau" in view.manual_flag


def ready(world: World) -> tuple[AtmospherePresenter, BoardPresenter, SetupPresenter]:
    setup = set_up(world)
    atmo = AtmospherePresenter(world.context, world.desk, world.feed)
    board = BoardPresenter(world.context, world.desk, world.feed)
    world.air(25)
    for point in ("top", "middle", "bottom"):
        assert atmo.take_sample(point).ok
    assert atmo.record().ok
    assert world.desk.state(world.context.permit_id).latest_test.acceptable
    world.sign_in(demo.LEADER)
    assert setup.sign_briefing(demo.ENTRANT_A, PINS[demo.ENTRANT_A], demo_signature()).ok, (
        setup.last.lines()
    )
    world.sign_in(demo.PRINCIPAL)
    assert setup.approve().ok, setup.last.lines()
    world.sign_in(demo.GUARDIAN)
    assert board.start_monitoring("bottom").ok, board.last.lines()
    return atmo, board, setup


def test_entry_is_refused_until_the_entrant_confirms_the_passing_test(
    world: World, english: None
) -> None:
    atmo, board, _setup = ready(world)
    world.air(2)
    refused = board.enter(demo.ENTRANT_A)
    assert not refused.ok and "ENTRANT_READINGS_NOT_CONFIRMED" in refused.codes
    assert all(remedy for _m, remedy in board.view().refusal)  # what to do, from permits
    assert not atmo.confirm_readings(demo.ENTRANT_A, "0000").ok
    assert atmo.confirm_readings(demo.ENTRANT_A, PINS[demo.ENTRANT_A]).ok
    assert board.enter(demo.ENTRANT_A).ok, board.last.lines()
    view = board.view()
    assert view.inside_count == "1 inside"
    assert {t.channel: t.level for t in view.tiles} == dict.fromkeys(
        ("O2", "LEL", "H2S", "CO"), Level.SAFE
    )


def test_h2s_alarm_evacuates_and_resume_needs_a_new_test(world: World, english: None) -> None:
    atmo, board, _setup = ready(world)
    assert atmo.confirm_readings(demo.ENTRANT_A, PINS[demo.ENTRANT_A]).ok
    world.air(2)
    assert board.enter(demo.ENTRANT_A).ok
    world.air(5, h2s=9.0)
    raised = board.tick()
    assert raised and raised[0].startswith("TOXIC_HIGH-H2S")
    state = world.desk.state(world.context.permit_id)
    assert state.status is Status.EVACUATING
    view = board.view()
    assert view.status_level is Level.ALARM and view.banner
    assert next(t for t in view.tiles if t.channel == "H2S").level is Level.ALARM
    assert board.tick() == []  # the same alarm is not raised twice
    # everything waits for the server, in chain order
    seqs = [e["seq"] for e in world.store.unacked_events()]
    assert seqs == list(range(1, len(seqs) + 1))
    assert board.exit(demo.ENTRANT_A).ok
    assert world.desk.state(world.context.permit_id).status is Status.SUSPENDED
    assert not board.clear_alarms().ok  # H2S still high
    world.air(30, h2s=0.0)
    assert board.clear_alarms().ok
    refused = board.resume()
    assert not refused.ok and "RESUME_NEEDS_NEW_TEST" in refused.codes
    for point in ("top", "middle", "bottom"):
        assert atmo.take_sample(point).ok
    assert atmo.record().ok
    assert board.resume().ok, board.last.lines()


def test_stale_stream_is_grey_and_raises_an_alarm(world: World, english: None) -> None:
    atmo, board, _setup = ready(world)
    assert atmo.confirm_readings(demo.ENTRANT_A, PINS[demo.ENTRANT_A]).ok
    world.air(2)
    assert board.enter(demo.ENTRANT_A).ok
    world.clock.advance(minutes=2)  # the detector went silent
    assert board.tick()
    view = board.view()
    assert view.stale and all(t.level is Level.UNKNOWN for t in view.tiles)
    assert Level.SAFE not in {t.level for t in view.tiles}
    assert world.desk.state(world.context.permit_id).status is Status.EVACUATING


def test_closeout_needs_everyone_out_and_each_lock_removed_by_its_owner(
    world: World, english: None
) -> None:
    atmo, board, _setup = ready(world)
    assert atmo.confirm_readings(demo.ENTRANT_A, PINS[demo.ENTRANT_A]).ok
    world.air(2)
    assert board.enter(demo.ENTRANT_A).ok
    close = CloseoutPresenter(world.context, world.desk)
    world.sign_in(demo.LEADER)
    assert not close.close().ok  # still active, someone inside
    assert close.view().inside_level is Level.ALARM
    assert board.exit(demo.ENTRANT_A).ok
    assert close.start_closing().ok, close.last.lines()
    refused = close.close()
    assert not refused.ok and "LOCKS_STILL_ON" in refused.codes
    assert not close.remove_lock("L-101").ok  # the leader did not apply it
    world.sign_in(demo.ELECTRICIAN)
    assert close.remove_lock("L-101").ok and close.remove_lock("L-102").ok
    world.sign_in(demo.LEADER)
    assert close.close().ok, close.last.lines()
    assert close.view().closed


def test_settings_validates_the_server_address(world: World, english: None) -> None:
    settings = SettingsPresenter(world.context)
    with pytest.raises(ValueError, match="http"):
        settings.set_server_url("ftp://x")
    settings.set_server_url("https://sync.example")
    assert world.store.get_setting("server_url") == "https://sync.example"


def test_presenters_import_no_kivy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, pkgutil, importlib, tablet_app.presenters as p\n"
        "for m in pkgutil.iter_modules(p.__path__):\n"
        "    importlib.import_module(f'tablet_app.presenters.{m.name}')\n"
        "import tablet_app.desk, tablet_app.store, tablet_app.live\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] == 'kivy'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_settings_enrols_and_syncs_against_the_real_server(world: World, tmp_path: Path) -> None:
    import asyncio

    from cspermit.demo.rigs import SyncRig

    rig = SyncRig(tmp_path)

    async def scenario() -> None:
        await rig.start("ent-sugar")
        settings = SettingsPresenter(world.context, transport=rig.transport)
        settings.set_server_url("http://localhost")
        assert not await settings.sync_now()  # not enrolled yet: nothing leaves
        assert not await settings.enroll("not-a-code")
        assert world.store.get_setting("device_token") is None
        assert await settings.enroll(await rig.enrollment_code())
        world.store.set_setting("enterprise_id", "ent-sugar")
        drafted(world)  # events made after enrolment carry the server's device id
        assert world.store.count_unacked()["events"] == 2
        assert await settings.sync_now(), settings.sync_result
        assert world.store.count_unacked() == {"events": 0, "chunks": 0}
        assert await settings.sync_now()  # nothing left: still fine

    try:
        asyncio.run(scenario())
    finally:
        rig.close()
    stored = world.store.events_for_permit(world.context.permit_id)
    assert {e["device_id"] for e in stored} == {world.store.get_setting("device_id")}


def test_a_lost_detector_link_is_shown_and_nothing_turns_green(world: World, english: None) -> None:
    _atmo, board, _setup = ready(world)

    async def broken():  # type: ignore[no-untyped-def]
        raise OSError("could not open port /dev/ttyUSB0")
        yield  # pragma: no cover

    import asyncio

    asyncio.run(world.feed.consume(broken()))
    world.clock.advance(minutes=5)
    view = board.view()
    assert view.banner[0].startswith("Detector connection failed: OSError")
    assert Level.SAFE not in {t.level for t in view.tiles}
    # an alarm with nobody inside: evacuating, and the guardian suspends to re-test
    assert board.tick()
    assert world.desk.state(world.context.permit_id).status is Status.EVACUATING
    assert board.suspend("detector link lost").ok, board.last.lines()
    assert world.desk.state(world.context.permit_id).status is Status.SUSPENDED


def test_evacuate_button_orders_evacuation_and_nobody_is_left_inside(
    world: World, english: None
) -> None:
    atmo, board, _setup = ready(world)
    assert atmo.confirm_readings(demo.ENTRANT_A, PINS[demo.ENTRANT_A]).ok
    world.air(2)
    assert board.enter(demo.ENTRANT_A).ok
    assert board.evacuate().ok
    view = board.view()
    assert view.status == "EVACUATING" and view.status_level is Level.ALARM
    assert not board.enter(demo.ENTRANT_A).ok  # nobody goes in while evacuating
    assert board.exit(demo.ENTRANT_A).ok
    state = world.desk.state(world.context.permit_id)
    assert state.status is Status.SUSPENDED and not state.inside
    home = HomePresenter(world.context, world.desk).view()
    assert [(r.status, r.level, r.inside) for r in home.permits] == [("Suspended", Level.WARN, 0)]
    assert home.hazards and "H2S" in home.hazards[0]
