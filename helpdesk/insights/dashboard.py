"""What a dashboard is made of, whatever it measures.

A dashboard builder is a function ``build(filters: Filters) -> Dashboard``. The views render
any Dashboard the same way (figures, charts with their data tables beneath, tables with CSV
export), and the scheduled report mails the same structure. Every number that stands for
cases or chats carries ``href``: the drill-down list of exactly those records.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from helpdesk.sla.policies import describe_minutes

DEFAULT_DAYS = 30
MAX_DAYS = 731


@dataclass(frozen=True)
class Filters:
    """What every dashboard is narrowed by: a range of local days (both ends included), in
    the reporting time zone (HELPDESK_TIMEZONE), and optionally one group and one agent."""

    start: date
    end: date
    tz: ZoneInfo
    group_id: int | None = None
    agent_id: int | None = None

    @classmethod
    def default(cls, today: date, tz: ZoneInfo) -> Filters:
        return cls(start=today - timedelta(days=DEFAULT_DAYS - 1), end=today, tz=tz)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def start_at(self) -> datetime:
        """The first instant of the range, aware (local midnight of ``start``)."""
        return datetime.combine(self.start, datetime.min.time(), self.tz)

    @property
    def end_at(self) -> datetime:
        """The first instant after the range (local midnight after ``end``)."""
        return datetime.combine(self.end + timedelta(days=1), datetime.min.time(), self.tz)

    def previous(self) -> Filters:
        """The period of the same length just before this one (for "vs previous period")."""
        length = self.end - self.start + timedelta(days=1)
        return replace(self, start=self.start - length, end=self.end - length)

    def to_args(self) -> dict[str, str]:
        """Query-string arguments that give these filters back (drill-down and CSV links)."""
        args = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.group_id:
            args["group"] = str(self.group_id)
        if self.agent_id:
            args["agent"] = str(self.agent_id)
        return args


@dataclass
class Figure:
    """One headline number: "Solved 1,204", "First response (median) 2 h 10 min"."""

    label: str
    value: str  # formatted for people
    raw: float | int | None = None  # for CSV and the report mail
    href: str | None = None
    hint: str = ""  # e.g. "business time", "vs 1,100 in the previous period"


@dataclass
class Series:
    name: str
    values: list[float | int | None]
    hrefs: list[str | None] | None = None  # one per label, or None


@dataclass
class Chart:
    """A chart; its data is also shown as a table beneath it (colour is never the only signal)."""

    id: str  # unique within the dashboard; also the CSV table id
    title: str
    kind: str  # "line", "bar", "stacked-bar", "heatmap"
    labels: list[str]
    series: list[Series]
    unit: str = ""  # "cases", "min", "%"
    y_labels: list[str] = field(default_factory=list)  # heatmap rows (e.g. weekdays); series are rows then


@dataclass
class Cell:
    value: str | int | float | None  # the raw value: what CSV exports
    display: str | None = None  # formatted for people; None shows the value
    href: str | None = None

    @property
    def text(self) -> str:
        if self.display is not None:
            return self.display
        return "" if self.value is None else str(self.value)


@dataclass
class Table:
    id: str  # unique within the dashboard: /insights/<dashboard>/<id>.csv
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    note: str = ""  # e.g. "Business time, pauses excluded"


@dataclass
class Section:
    title: str
    items: list[Chart | Table]
    figures: list[Figure] = field(default_factory=list)
    note: str = ""


@dataclass
class Dashboard:
    key: str  # "helpdesk", "sla", "chat", "self-service"
    title: str
    filters: Filters
    figures: list[Figure]
    sections: list[Section]
    as_of: datetime | None = None  # when the incremental data was last brought up to date

    def table(self, table_id: str) -> Table | Chart | None:
        for section in self.sections:
            for item in section.items:
                if item.id == table_id:
                    return item
        return None


Builder = Callable[[Filters], Dashboard]
# An edge package adds sections to a dashboard (the knowledge base adds its searches to
# "self-service"): app.extensions["insight_sections"]["self-service"].append(fn(filters) -> Section).
SectionProvider = Callable[[Filters], Section]


def format_minutes(minutes: float | None) -> str:
    """45 min, 2 h 10 min, 3 d 4 h: durations as people read them."""
    return "–" if minutes is None else describe_minutes(int(round(minutes)))


def format_seconds(seconds: float | None) -> str:
    """45 s, 2 min 5 s, 1 h 10 min: waiting times are short, so seconds count."""
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    return format_minutes(seconds / 60)


def format_percent(part: float | int, whole: float | int) -> str:
    return "–" if not whole else f"{100 * part / whole:.1f} %"


def format_count(n: int | float | None) -> str:
    return "–" if n is None else f"{n:,.0f}"
