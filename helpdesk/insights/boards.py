"""The registry of dashboards: which builder makes which key, links that work in a job, filters from a query string."""
from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, url_for

from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.insights.dashboard import MAX_DAYS, Builder, Cell, Chart, Dashboard, Filters, Table

# key -> (module, title); the modules are imported when first needed, so a dashboard
# whose builder is not there yet simply is not offered.
BUILDERS: dict[str, str] = {
    "helpdesk": "helpdesk.insights.helpdesk_dashboard",
    "sla": "helpdesk.insights.sla_dashboard",
    "chat": "helpdesk.insights.chat_dashboard",
    "self-service": "helpdesk.insights.selfservice_dashboard",
}
TITLES = {"helpdesk": "Help desk", "sla": "SLA", "chat": "Chat", "self-service": "Self-service"}


def link(endpoint: str, **args) -> str:
    """A root-relative URL for endpoint, inside a request or in a job with only an app context."""
    args = {k: v for k, v in args.items() if v is not None and v != ""}
    if has_request_context():
        return url_for(endpoint, **args)
    app = current_app
    adapter = app.url_map.bind("localhost", script_name=app.config.get("APPLICATION_ROOT") or "/",
                               url_scheme=app.config.get("PREFERRED_URL_SCHEME", "http"))
    return adapter.build(endpoint, args, force_external=False)


def builder(key: str) -> Builder | None:
    """The build function for key, or None when its module does not exist (yet)."""
    target = BUILDERS.get(key)
    if target is None:
        return None
    if callable(target):
        return target
    try:
        module = importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name != target:  # a broken import inside an existing module must not hide
            raise
        return None
    return getattr(module, "build", None)


def available() -> list[str]:
    """The dashboard keys that can be built, in menu order."""
    return [key for key in BUILDERS if builder(key) is not None]


def build(key: str, filters: Filters) -> Dashboard:
    """The dashboard for key, with the sections edge packages registered for it appended."""
    build_fn = builder(key)
    if build_fn is None:
        raise NotFound(f"There is no {key!r} dashboard.")
    dashboard = build_fn(filters)
    providers = current_app.extensions.get("insight_sections", {}).get(key, [])
    for provide in providers:
        dashboard.sections.append(provide(filters))
    return dashboard


def _date(args: Mapping[str, str], name: str) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed({name: f"{raw!r} is not a date (YYYY-MM-DD)"}) from None


def _id(args: Mapping[str, str], name: str) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) <= 0:
        raise ValidationFailed({name: f"{raw!r} is not a valid {name}"})
    return int(raw)


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """The days a named preset covers, ending today (or the whole previous month)."""
    if preset in {"7d", "30d", "90d"}:
        return today - timedelta(days=int(preset[:-1]) - 1), today
    if preset == "month":
        return today.replace(day=1), today
    if preset == "last-month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if preset == "12m":
        first = today.replace(day=1)
        start = first.replace(year=first.year - 1) if first.month == 12 else first.replace(year=first.year - 1, month=first.month + 1)
        return start, today
    raise ValidationFailed({"range": f"{preset!r} is not a known range"})


PRESETS = [("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"), ("month", "This month"),
           ("last-month", "Last month"), ("12m", "12 months")]


def filters_from_args(args: Mapping[str, str], today: date, tz: ZoneInfo) -> Filters:
    """Filters from a query string (from, to, range, group, agent); bad input names its field."""
    group_id, agent_id = _id(args, "group"), _id(args, "agent")
    preset = (args.get("range") or "").strip()
    if preset:
        start, end = preset_range(preset, today)
    else:
        default = Filters.default(today, tz)
        start = _date(args, "from")
        end = _date(args, "to")
        if start is None and end is None:
            start, end = default.start, default.end
        elif start is None:
            start = end - (default.end - default.start)
        elif end is None:
            end = max(start, today)
    if end < start:
        raise ValidationFailed({"to": "must not be before from"})
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationFailed({"to": f"the range may span at most {MAX_DAYS} days"})
    return Filters(start=start, end=end, tz=tz, group_id=group_id, agent_id=agent_id)


# --- one shape for every table: charts become tables for their data, CSV and mail -------------


def _display(value, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        text = f"{value:,.1f}"
    else:
        text = f"{value:,.0f}"
    return f"{text} %" if unit == "%" else text


def chart_table(chart: Chart) -> Table:
    """The data behind a chart as a table: a row per label (per heatmap row), a column per series
    (per label); numbers keep the chart's links."""
    if chart.kind == "heatmap":
        columns = [""] + list(chart.labels)
        rows = []
        for index, series in enumerate(chart.series):
            name = chart.y_labels[index] if index < len(chart.y_labels) else series.name
            hrefs = series.hrefs or [None] * len(series.values)
            rows.append([Cell(name)] + [Cell(v, _display(v, chart.unit), h) for v, h in zip(series.values, hrefs)])
        return Table(id=chart.id, title=chart.title, columns=columns, rows=rows)
    unit = f" ({chart.unit})" if chart.unit else ""
    columns = [""] + [f"{s.name}{unit}" for s in chart.series]
    rows = []
    for i, label in enumerate(chart.labels):
        row = [Cell(label)]
        for series in chart.series:
            value = series.values[i] if i < len(series.values) else None
            href = series.hrefs[i] if series.hrefs and i < len(series.hrefs) else None
            row.append(Cell(value, _display(value, chart.unit), href))
        rows.append(row)
    return Table(id=chart.id, title=chart.title, columns=columns, rows=rows)


def as_table(item: Chart | Table) -> Table:
    return chart_table(item) if isinstance(item, Chart) else item


def figures_table(dashboard: Dashboard) -> Table:
    """The headline figures of a dashboard (and of its sections) as one table."""
    rows = [[Cell(f.label), Cell(f.raw if f.raw is not None else f.value, f.value, f.href), Cell(f.hint)]
            for f in dashboard.figures + [f for s in dashboard.sections for f in s.figures]]
    return Table(id=FIGURES_ID, title="Figures", columns=["Figure", "Value", "Note"], rows=rows)


FIGURES_ID = "figures"


def find_table(dashboard: Dashboard, table_id: str) -> Table | None:
    if table_id == FIGURES_ID and dashboard.table(FIGURES_ID) is None:
        return figures_table(dashboard)
    item = dashboard.table(table_id)
    return None if item is None else as_table(item)


def csv_lines(table: Table):
    """The table as CSV lines (formula-safe cells, raw values rather than formatted ones)."""
    from helpdesk.imports.policies import csv_line

    yield csv_line(table.columns)
    for row in table.rows:
        yield csv_line([cell.value for cell in row])


def csv_filename(dashboard: Dashboard, table_id: str) -> str:
    f = dashboard.filters
    name = f"{dashboard.key}-{table_id}-{f.start.isoformat()}-to-{f.end.isoformat()}.csv"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name)


def numeric_columns(table: Table) -> list[bool]:
    """Which columns hold numbers only (right-aligned, header included)."""
    numeric = [True] * len(table.columns)
    for row in table.rows:
        for i, cell in enumerate(row[: len(numeric)]):
            if cell.value is not None and (isinstance(cell.value, bool) or not isinstance(cell.value, int | float)):
                numeric[i] = False
    return [bool(i) and n for i, n in enumerate(numeric)]
