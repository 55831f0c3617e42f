"""Events and permit statuses in words, for the core's own sentences and every screen.

A refusal such as "this cannot be recorded while the permit is ..." names the event and
the status: the facts keep their codes (a stored verdict stays machine-readable) and
:func:`permits.messages.render` puts them in words when it renders. The server's pages
and the permit PDF use these tables too, so a status reads the same everywhere.
"""

from __future__ import annotations

from permits.messages import N_

EVENT_WORDS: dict[str, str] = {
    "drafted": N_("Permit drafted"),
    "role_assigned": N_("Role assigned"),
    "hazard_identified": N_("Hazard identified"),
    "isolation_applied": N_("Isolation applied (lock and tag)"),
    "isolation_verified": N_("Isolation verified"),
    "personal_lock_applied": N_("Personal lock applied"),
    "personal_lock_removed": N_("Personal lock removed"),
    "ventilation_started": N_("Ventilation started"),
    "ventilation_stopped": N_("Ventilation stopped"),
    "equipment_confirmed": N_("Equipment confirmed"),
    "atmosphere_test_recorded": N_("Gas test recorded"),
    "monitoring_started": N_("Monitoring started"),
    "monitoring_stopped": N_("Monitoring stopped"),
    "readings_confirmed": N_("Readings confirmed by entrant"),
    "briefing_signed": N_("Safety briefing signed"),
    "approved": N_("Permit approved"),
    "guardian_on_duty": N_("Guardian on duty"),
    "guardian_handover": N_("Guardian handover"),
    "guardian_left": N_("Guardian left"),
    "entrant_entered": N_("Entrant entered"),
    "entrant_exited": N_("Entrant exited"),
    "readings_chunk_recorded": N_("Continuous readings recorded"),
    "alarm_raised": N_("Alarm raised"),
    "alarm_cleared": N_("Alarm cleared"),
    "evacuation_ordered": N_("Evacuation ordered"),
    "suspended": N_("Work suspended"),
    "resumed": N_("Work resumed"),
    "closing_started": N_("Closing started"),
    "isolation_removed": N_("Isolation removed"),
    "closed": N_("Permit closed"),
    "cancelled": N_("Permit cancelled"),
    "expired": N_("Permit expired"),
    "device_handover": N_("Tablet handover"),
    "simops_acknowledged": N_("SIMOPS conflict acknowledged"),
    # The hot-work permit (动火安全作业票, docs/rules.md, Hot work).
    "hot_work_drafted": N_("Hot-work permit drafted"),
    "hot_work_role_assigned": N_("Hot-work role assigned"),
    "hot_work_approved": N_("Hot-work permit approved"),
    "hot_work_gas_analysed": N_("Gas analysis at the fire point"),
    "hot_work_monitoring_started": N_("Continuous monitoring started"),
    "hot_work_monitoring_stopped": N_("Continuous monitoring stopped"),
    "hot_work_fire_started": N_("Fire started"),
    "hot_work_interrupted": N_("Hot work interrupted"),
    "hot_work_done": N_("Hot work done"),
    "hot_work_fire_watch_started": N_("Fire watch started"),
    "hot_work_watch_confirmed": N_("Fire watcher present"),
    "hot_work_fire_watch_ended": N_("Fire watch ended: no residual fire"),
    "hot_work_closed": N_("Hot-work permit closed"),
    "hot_work_alarm_raised": N_("Alarm raised"),
    "hot_work_alarm_cleared": N_("Alarm cleared"),
    "hot_work_suspended": N_("Hot work suspended"),
    "hot_work_resumed": N_("Hot work resumed"),
    "hot_work_cancelled": N_("Hot-work permit cancelled"),
    "hot_work_simops_acknowledged": N_("SIMOPS conflict acknowledged"),
}

STATUS_WORDS: dict[str, str] = {
    "draft": N_("draft"),
    "approved": N_("approved"),
    "active": N_("active (work under way)"),
    "evacuating": N_("evacuating"),
    "suspended": N_("suspended"),
    "closing": N_("closing"),
    "closed": N_("closed"),
    "cancelled": N_("cancelled"),
    "expired": N_("expired"),
    # Hot-work statuses besides the shared ones.
    "gas_ok": N_("gas analysis passed"),
    "interrupted": N_("interrupted"),
    "work_done": N_("work done"),
    "fire_watch": N_("fire watch"),
    "watch_done": N_("fire watch done"),
}

__all__ = ["EVENT_WORDS", "STATUS_WORDS"]
