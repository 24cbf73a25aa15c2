"""Pure computation of a case's facts and of its contribution to the daily rollup.

Nothing here touches the database: services.py reads the rows in batches and hands them in.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from helpdesk.insights.models import MEASURES
from helpdesk.sla.calendar import BusinessCalendar
from helpdesk.sla.models import Clock, EventKind

SOLVED_LABELS = frozenset({"Resolved", "Closed"})  # Activity.new/old hold status labels
_N = len(MEASURES)
# The rollup keeps each case under its group and agent, and again under "any group" and/or
# "any agent", so every filter (none, group, agent, both) reads only the rows it sums.
ANY = -1
_I = {name: i for i, name in enumerate(MEASURES)}


def local_day(at: datetime | None, tz: ZoneInfo) -> date | None:
    return None if at is None else at.astimezone(tz).date()


def pause_spells(events: Iterable) -> list[list]:
    """The spells every clock stood still (paused/resumed events without a clock), in order;
    the last one may still be open (end None). The same reading as sla.policies.evaluate."""
    spells: list[list] = []
    for event in events:
        if event.clock is not None:
            continue
        if event.kind == EventKind.PAUSED:
            if not spells or spells[-1][1] is not None:
                spells.append([event.at, None])
        elif event.kind == EventKind.RESUMED and spells and spells[-1][1] is None:
            spells[-1][1] = event.at
    return spells


def business_minutes(calendar: BusinessCalendar, start: datetime, end: datetime, spells: list[list]) -> int:
    """Business time from start to end, less the paused spells within, in whole minutes."""
    total = calendar.business_time(start, end)
    for s, e in spells:
        s, e = max(s, start), min(e or end, end)
        if e > s:
            total -= calendar.business_time(s, e)
    return max(0, int(total.total_seconds() // 60))


def compute(case, events: list, status_changes: list, rating, calendar: BusinessCalendar, tz: ZoneInfo,
            now: datetime) -> dict:
    """The fact row of one case.

    case: a row with id, created_at, first_response_at, group_id, assignee_id, channel, priority,
    product_id, organization_id, sla_policy_id, deleted_at, merged_into_id, is_open.
    events: its SLA events in (at, id) order; status_changes: (created_at, old, new) of its
    Activity rows on the status field, in order; rating: (score, created_at) or None.
    """
    solved_at = None
    reopens = 0
    for at, old, new in status_changes:
        if new in SOLVED_LABELS and old not in SOLVED_LABELS and solved_at is None:
            solved_at = at
        elif old in SOLVED_LABELS and new not in SOLVED_LABELS:
            reopens += 1
    if solved_at is None and not case.is_open:
        # Opened solved, or history gone: the case row still knows.
        solved_at = case.created_at
    spells = pause_spells(events)
    created = case.created_at
    frt = frt_b = res = res_b = None
    if case.first_response_at is not None:
        frt = max(0, int((case.first_response_at - created).total_seconds() // 60))
        frt_b = business_minutes(calendar, created, case.first_response_at, spells)
    if solved_at is not None:
        res = max(0, int((solved_at - created).total_seconds() // 60))
        res_b = business_minutes(calendar, created, solved_at, spells)
    sla: dict[str, tuple[str, datetime] | None] = {Clock.FIRST_RESPONSE.value: None, Clock.RESOLUTION.value: None}
    any_breach = False
    for event in events:
        if event.clock is None:
            continue
        if event.kind == EventKind.BREACHED:
            any_breach = True
            if event.clock in sla and (sla[event.clock] is None or sla[event.clock][0] != "breached"):
                sla[event.clock] = ("breached", event.at)
        elif event.kind == EventKind.FULFILLED and event.clock in sla and sla[event.clock] is None:
            late = bool((event.data or {}).get("late"))
            sla[event.clock] = ("breached" if late else "met", event.due_at if late and event.due_at else event.at)
            any_breach = any_breach or late
    fr, rs = sla[Clock.FIRST_RESPONSE.value], sla[Clock.RESOLUTION.value]
    return dict(
        case_id=case.id,
        created_day=local_day(created, tz),
        first_response_day=local_day(case.first_response_at, tz),
        solved_day=local_day(solved_at, tz),
        group_id=case.group_id or 0,
        assignee_id=case.assignee_id or 0,
        channel=getattr(case.channel, "value", case.channel),
        priority=int(case.priority),
        product_id=case.product_id or 0,
        organization_id=case.organization_id or 0,
        sla_policy_id=case.sla_policy_id or 0,
        live=case.deleted_at is None and case.merged_into_id is None,
        is_open=bool(case.is_open),
        frt_minutes=frt,
        frt_business_minutes=frt_b,
        res_minutes=res,
        res_business_minutes=res_b,
        reopen_count=reopens,
        sla_fr=fr[0] if fr else None,
        sla_fr_day=local_day(fr[1], tz) if fr else None,
        sla_res=rs[0] if rs else None,
        sla_res_day=local_day(rs[1], tz) if rs else None,
        sla_breached=any_breach,
        rating_score=rating[0] if rating else None,
        rating_day=local_day(rating[1], tz) if rating else None,
        updated_at=now,
    )


def dimension_keys(fact: Mapping) -> list[tuple[str, str]]:
    return [
        ("all", "0"),
        ("channel", str(fact["channel"])),
        ("priority", str(fact["priority"])),
        ("product", str(fact["product_id"] or 0)),
        ("organization", str(fact["organization_id"] or 0)),
        ("policy", str(fact["sla_policy_id"] or 0)),
    ]


def _per_day(fact: Mapping) -> dict[date, list[tuple[int, int]]]:
    """The (measure index, value) pairs this fact adds on each day (nonzero only)."""
    per_day: dict[date, list[tuple[int, int]]] = {}

    def add(day, name, value=1):
        if day is not None and value:
            per_day.setdefault(day, []).append((_I[name], value))

    add(fact["created_day"], "created")
    solved = fact["solved_day"]
    if solved is not None:
        add(solved, "solved")
        add(solved, "reopened", 1 if fact["reopen_count"] else 0)
        add(solved, "res_count")
        add(solved, "res_minutes", fact["res_minutes"] or 0)
        add(solved, "res_business_minutes", fact["res_business_minutes"] or 0)
    if fact["first_response_day"] is not None and fact["frt_minutes"] is not None:
        add(fact["first_response_day"], "frt_count")
        add(fact["first_response_day"], "frt_minutes", fact["frt_minutes"])
        add(fact["first_response_day"], "frt_business_minutes", fact["frt_business_minutes"] or 0)
    if fact["sla_fr"]:
        add(fact["sla_fr_day"], "fr_met" if fact["sla_fr"] == "met" else "fr_breached")
    if fact["sla_res"]:
        add(fact["sla_res_day"], "res_met" if fact["sla_res"] == "met" else "res_breached")
    if fact["rating_score"] is not None:
        add(fact["rating_day"], "rated")
        add(fact["rating_day"], "rating_sum", fact["rating_score"])
        add(fact["rating_day"], "rating_good", 1 if fact["rating_score"] >= 4 else 0)
    return per_day


def add_contribution(total: dict[tuple, list[int]], fact: Mapping | None, sign: int = 1) -> None:
    """Add (or with sign -1 take away) what a fact counts, to `total` keyed by
    (dimension, day, group_id, agent_id, key) without the "any" rows: with_variants() adds those."""
    if fact is None or not fact["live"]:
        return
    per_day = _per_day(fact)
    group, agent = fact["group_id"] or 0, fact["assignee_id"] or 0
    for dimension, key in dimension_keys(fact):
        for day, pairs in per_day.items():
            k = (dimension, day, group, agent, key)
            row = total.get(k)
            if row is None:
                row = total[k] = [0] * _N
            for i, v in pairs:
                row[i] += sign * v


def with_variants(total: Mapping[tuple, list[int]]) -> dict[tuple, list[int]]:
    """Each row under its (group, agent), (group, any), (any, agent) and (any, any)."""
    out: dict[tuple, list[int]] = {}
    for (dimension, day, group, agent, key), row in total.items():
        for g, a in ((group, agent), (group, ANY), (ANY, agent), (ANY, ANY)):
            k = (dimension, day, g, a, key)
            acc = out.get(k)
            if acc is None:
                out[k] = list(row)
            else:
                for i, v in enumerate(row):
                    if v:
                        acc[i] += v
    return out


def contribution(fact: Mapping | None) -> dict[tuple, list[int]]:
    """{(dimension, day, group_id, agent_id, key): measures} that this fact adds to the rollup;
    group_id and agent_id are 0 for none and ANY (-1) in the rows that do not split by them."""
    base: dict[tuple, list[int]] = {}
    add_contribution(base, fact)
    return with_variants(base)
