"""The cases behind a number of the help desk and SLA dashboards.

A link (case_link) carries the dashboard's filters, the metric and the dimensions of the
cell; select_cases turns them back into a title and a SELECT of exactly those cases.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, timedelta
from urllib.parse import quote_plus, urlencode

from flask import current_app, has_request_context, request
from sqlalchemy import Select, and_, exists, or_, select
from werkzeug.routing import BuildError

from helpdesk.assets.models import Product
from helpdesk.cases.models import Case, Channel, Priority
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.insights.dashboard import Filters
from helpdesk.insights.models import CaseFact
from helpdesk.people.models import Group, Organization, User
from helpdesk.sla.models import Clock, EventKind, SLAEvent, SLAPolicy
from helpdesk.types import utcnow

# metric -> (title, the fact's day column it counts on, or None for "now")
METRICS: dict[str, tuple[str, str | None]] = {
    "created": ("New", "created_day"),
    "solved": ("Solved", "solved_day"),
    "reopened": ("Solved and reopened", "solved_day"),
    "responded": ("First response given", "first_response_day"),
    "rated": ("Rated", "rating_day"),
    "rated_good": ("Rated good (4–5)", "rating_day"),
    "sla_met": ("SLA met", None),  # clock: first_response or resolution (or both)
    "sla_breached": ("SLA breached", None),
    "breached": ("Breach recorded", None),  # SLA breach events in the range (any clock, or clock=)
    "open": ("Open now", None),
    "backlog": ("Open now by age", None),  # bucket: see AGE_BUCKETS
    "at_risk": ("At risk now", None),
    "overdue": ("Overdue now", None),
    "due": ("Open by time to breach", None),  # bucket: see DUE_BUCKETS
}
# bucket -> (label, lower bound, upper bound) in hours of age
AGE_BUCKETS = {
    "lt1d": ("< 1 day", 0, 24),
    "1-3d": ("1–3 days", 24, 72),
    "3-7d": ("3–7 days", 72, 168),
    "7-30d": ("7–30 days", 168, 720),
    "gt30d": ("> 30 days", 720, None),
}
# bucket -> (label, lower bound, upper bound) in hours until the soonest running deadline
DUE_BUCKETS = {
    "overdue": ("Overdue", None, 0),
    "lt1h": ("< 1 h", 0, 1),
    "1-4h": ("1–4 h", 1, 4),
    "4-24h": ("4–24 h", 4, 24),
    "gt24h": ("> 24 h", 24, None),
}
_INT_DIMS = ("group", "agent", "product", "organization", "policy", "priority")
_DIMS = (*_INT_DIMS, "day", "channel", "clock", "bucket")
_FACT_COLUMN = {"group": "group_id", "agent": "assignee_id", "product": "product_id",
                "organization": "organization_id", "policy": "sla_policy_id", "priority": "priority",
                "channel": "channel"}
SLA_CLOCKS = (Clock.FIRST_RESPONSE.value, Clock.RESOLUTION.value)


def case_link(filters: Filters, metric: str, **dims) -> str:
    """The drill-down list of the cases behind a number (endpoint insights.cases)."""
    return linker(filters)(metric, **dims)


def linker(filters: Filters):
    """case_link for one dashboard build: the list's path and the filters' query string are
    worked out once, as a dashboard links a thousand numbers."""
    prefix = f"{_list_path()}?{urlencode(filters.to_args())}&metric="

    def link(metric: str, **dims) -> str:
        parts = [prefix, _quote(metric)]
        for key, value in dims.items():
            if value is not None:
                parts.append(f"&{key}={_quote(value.isoformat() if isinstance(value, date) else str(value))}")
        return "".join(parts)

    return link


_SAFE = re.compile(r"[A-Za-z0-9_.\-]*")


def _quote(value: str) -> str:
    return value if _SAFE.fullmatch(value) else quote_plus(value)


_paths: dict[tuple, str] = {}


def _list_path() -> str:
    """The list's path, built once per app and script root: a dashboard links a thousand
    numbers, and building each URL through the routing map costs more than the page."""
    root = request.script_root if has_request_context() else current_app.config.get("APPLICATION_ROOT") or "/"
    key = (id(current_app._get_current_object()), root)
    path = _paths.get(key)
    if path is None:
        try:
            from helpdesk.insights.boards import link

            path = link("insights.cases")
        except (BuildError, ImportError):  # the list's view is not there (yet)
            path = f"{root.rstrip('/')}/insights/cases"
        _paths[key] = path
    return path


def live_open(query: Select) -> Select:
    """Live open cases, spelled as the partial indexes are."""
    return query.where(Case.is_open.is_(True), Case.deleted_at.is_(None), Case.merged_into_id.is_(None))


def select_cases(filters: Filters, args: Mapping) -> tuple[str, Select]:
    """(a title for people, a SELECT of Case) for the drill-down arguments; ValidationFailed
    (field "metric" or the dimension's name) for what cannot be read."""
    metric = args.get("metric") or ""
    if metric not in METRICS:
        raise ValidationFailed({"metric": f"No such figure: {metric!r}."})
    dims = _parse(args)
    if "day" in dims:
        if not filters.start <= dims["day"] <= filters.end:
            raise ValidationFailed({"day": "The day is outside the range."})
        filters = replace(filters, start=dims["day"], end=dims["day"])
    group = dims.get("group", filters.group_id)
    agent = dims.get("agent", filters.agent_id)
    title, day_column = METRICS[metric]
    now = utcnow()
    if day_column is not None or metric in ("sla_met", "sla_breached"):
        query, order = _fact_query(metric, day_column, filters, dims)
        fact_dims = {"group": group, "agent": agent, **{k: dims[k] for k in _FACT_COLUMN if k in dims and k not in ("group", "agent")}}
        for key, value in fact_dims.items():
            if value is not None:
                query = query.where(getattr(CaseFact, _FACT_COLUMN[key]) == value)
        query = query.order_by(*order)
    else:
        query = select(Case)
        query = _case_filters(query, group, agent, dims)
        if metric == "breached":
            conds = [SLAEvent.case_id == Case.id, SLAEvent.kind == EventKind.BREACHED.value,
                     SLAEvent.at >= filters.start_at, SLAEvent.at < filters.end_at]
            if dims.get("clock"):
                conds.append(SLAEvent.clock == dims["clock"])
            if dims.get("policy") is not None:
                conds.append(SLAEvent.policy_id == dims["policy"] if dims["policy"] else SLAEvent.policy_id.is_(None))
            query = query.where(exists().where(and_(*conds))).order_by(Case.created_at.desc(), Case.id.desc())
        else:
            query = live_open(query)
            if metric == "backlog":
                bucket = AGE_BUCKETS.get(dims.get("bucket", ""))
                if bucket is None:
                    raise ValidationFailed({"bucket": "No such age bucket."})
                _, low, high = bucket
                query = query.where(Case.created_at <= now - timedelta(hours=low))
                if high is not None:
                    query = query.where(Case.created_at > now - timedelta(hours=high))
                title = f"Open now, {bucket[0]} old"
            elif metric == "at_risk":
                query = query.where(Case.sla_warn_at <= now, Case.sla_due_at > now)
            elif metric == "overdue":
                query = query.where(Case.sla_due_at <= now)
            elif metric == "due":
                bucket = DUE_BUCKETS.get(dims.get("bucket", ""))
                if bucket is None:
                    raise ValidationFailed({"bucket": "No such time-to-breach bucket."})
                _, low, high = bucket
                query = query.where(Case.sla_due_at.is_not(None))
                if low is not None:
                    query = query.where(Case.sla_due_at > now + timedelta(hours=low))
                if high is not None:
                    query = query.where(Case.sla_due_at <= now + timedelta(hours=high))
                title = f"Open, SLA due {bucket[0].lower()}" if bucket[0] != "Overdue" else "Overdue now"
            query = query.order_by(Case.created_at.desc(), Case.id.desc())
    return _title(title, filters, metric, dims, group, agent), query


def _fact_query(metric: str, day_column: str | None, filters: Filters, dims: dict):
    query = select(Case).join(CaseFact, CaseFact.case_id == Case.id).where(CaseFact.live.is_(True))
    if metric in ("sla_met", "sla_breached"):
        outcome = "met" if metric == "sla_met" else "breached"
        clock = dims.get("clock")
        parts = []
        for name, column, day in (("first_response", CaseFact.sla_fr, CaseFact.sla_fr_day),
                                  ("resolution", CaseFact.sla_res, CaseFact.sla_res_day)):
            if clock in (None, "", name):
                parts.append(and_(column == outcome, day >= filters.start, day <= filters.end))
        query = query.where(or_(*parts))
        return query, (Case.created_at.desc(), Case.id.desc())
    day = getattr(CaseFact, day_column)
    query = query.where(day >= filters.start, day <= filters.end)
    if metric == "reopened":
        query = query.where(CaseFact.reopen_count > 0)
    elif metric == "responded":
        query = query.where(CaseFact.frt_minutes.is_not(None))
    elif metric == "rated_good":
        query = query.where(CaseFact.rating_score >= 4)
    return query, (day.desc(), CaseFact.case_id.desc())


def _case_filters(query: Select, group, agent, dims: dict) -> Select:
    if group is not None:
        query = query.where(Case.group_id == group) if group else query.where(Case.group_id.is_(None))
    if agent is not None:
        query = query.where(Case.assignee_id == agent) if agent else query.where(Case.assignee_id.is_(None))
    for key, column in (("priority", Case.priority), ("channel", Case.channel), ("product", Case.product_id),
                        ("organization", Case.organization_id), ("policy", Case.sla_policy_id)):
        if key in dims:
            value = dims[key]
            if key == "priority":
                value = Priority(value)
            elif key == "channel":
                value = Channel(value)
            query = query.where(column == value) if value else query.where(column.is_(None))
    return query


def _parse(args: Mapping) -> dict:
    out: dict = {}
    for key in _DIMS:
        raw = args.get(key)
        if raw in (None, ""):
            continue
        if key in _INT_DIMS:
            try:
                out[key] = int(raw)
            except (TypeError, ValueError):
                raise ValidationFailed({key: f"{raw!r} is not a number."}) from None
            if key == "priority" and out[key] not in {int(p) for p in Priority}:
                raise ValidationFailed({key: "No such priority."})
        elif key == "day":
            try:
                out[key] = date.fromisoformat(str(raw))
            except ValueError:
                raise ValidationFailed({key: f"{raw!r} is not a date (YYYY-MM-DD)."}) from None
        elif key == "channel":
            if raw not in {c.value for c in Channel}:
                raise ValidationFailed({key: "No such channel."})
            out[key] = raw
        elif key == "clock":
            if raw not in {c.value for c in Clock}:
                raise ValidationFailed({key: "No such SLA clock."})
            out[key] = raw
        else:
            out[key] = str(raw)
    return out


def _title(title: str, filters: Filters, metric: str, dims: dict, group, agent) -> str:
    parts = [title]
    if METRICS[metric][1] is not None or metric in ("sla_met", "sla_breached", "breached"):
        if filters.start == filters.end:
            parts.append(_day(filters.start))
        else:
            parts.append(f"{_day(filters.start)} – {_day(filters.end)}")
    names = {"group": (Group, group), "agent": (User, agent), "product": (Product, dims.get("product")),
             "organization": (Organization, dims.get("organization")), "policy": (SLAPolicy, dims.get("policy"))}
    for key, (model, value) in names.items():
        if value is None:
            continue
        obj = db.session.get(model, value) if value else None
        parts.append(obj.name if obj is not None else f"no {key}")
    if "priority" in dims:
        parts.append(f"{Priority(dims['priority']).label} priority")
    if "channel" in dims:
        parts.append(str(Channel(dims["channel"]).label))
    if dims.get("clock"):
        parts.append(Clock(dims["clock"]).label)
    return " · ".join(parts)


def _day(d: date) -> str:
    return f"{d.day} {d:%b %Y}"
