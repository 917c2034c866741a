"""EventBridge schedule expressions, ``rate(...)`` and ``cron(...)``, as the local system runs them.

``cron(Minutes Hours Day-of-month Month Day-of-week Year)`` in UTC, as EventBridge reads it:
``*``, ``?``, lists, ranges, ``/`` steps, month and weekday names, weekdays 1-7 from
Sunday. ``L``, ``W`` and ``#`` are refused with a clear error rather than misread.
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .processes import LocalError

__all__ = ["Schedule", "ScheduleError", "parse_schedule"]

_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name.upper(): n for n, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
# (name, smallest, largest, names)
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _WEEKDAYS),
    ("year", 1970, 2199, {}),
)


class ScheduleError(LocalError, ValueError):
    """A schedule expression the local system cannot run; the message says what is wrong."""


@dataclass(frozen=True)
class Schedule:
    expression: str
    period_s: float | None = None  # rate(...)
    fields: tuple[frozenset[int], ...] = ()  # cron(...): allowed values per field
    any_day_of_month: bool = True
    any_day_of_week: bool = True

    def next_after(self, now: datetime) -> datetime:
        """The first time after ``now`` (UTC) this schedule fires."""
        if self.period_s is not None:
            return now + timedelta(seconds=self.period_s)
        minutes, hours, days, months, weekdays, years = self.fields
        at = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = now + timedelta(days=366 * 5)
        while at <= limit:
            if at.year not in years:
                at = datetime(at.year + 1, 1, 1, tzinfo=UTC)
            elif at.month not in months:
                at = (at.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            elif not self._day_matches(at, days, weekdays):
                at = at.replace(hour=0, minute=0) + timedelta(days=1)
            elif at.hour not in hours:
                at = at.replace(minute=0) + timedelta(hours=1)
            elif at.minute not in minutes:
                at += timedelta(minutes=1)
            else:
                return at
        raise ScheduleError(f"{self.expression} never fires in the next five years")

    def _day_matches(self, at: datetime, days: frozenset[int], weekdays: frozenset[int]) -> bool:
        weekday = (at.isoweekday() % 7) + 1  # EventBridge: 1 = Sunday
        if self.any_day_of_month:
            return weekday in weekdays
        if self.any_day_of_week:
            return at.day in days
        return at.day in days and weekday in weekdays

    def seconds_to_next(self) -> float:
        now = datetime.fromtimestamp(time.time(), UTC)
        return max(0.0, (self.next_after(now) - now).total_seconds())


def parse_schedule(expression: str) -> Schedule:
    """``rate(5 minutes)`` or ``cron(0 12 * * ? *)``; ``ScheduleError`` naming the problem."""
    text = expression.strip()
    rate = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", text)
    if rate:
        if int(rate[1]) < 1:
            raise ScheduleError(f"{expression}: a rate must be at least 1")
        return Schedule(text, period_s=float(int(rate[1]) * _UNITS[rate[2].rstrip("s")]))
    cron = re.fullmatch(r"cron\((.+)\)", text)
    if not cron:
        raise ScheduleError(f"{expression!r} is neither rate(...) nor cron(...)")
    parts = cron[1].split()
    if len(parts) != len(_FIELDS):
        raise ScheduleError(
            f"{expression}: cron takes 6 fields (minutes hours day-of-month month "
            f"day-of-week year), got {len(parts)}"
        )
    day_of_month, day_of_week = parts[2], parts[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ScheduleError(f"{expression}: exactly one of day-of-month and day-of-week is '?'")
    fields = tuple(
        _field(part, *spec, expression) for part, spec in zip(parts, _FIELDS, strict=True)
    )
    return Schedule(
        text,
        fields=fields,
        any_day_of_month=day_of_month in ("?", "*"),
        any_day_of_week=day_of_week in ("?", "*"),
    )


def _field(
    part: str, name: str, low: int, high: int, names: dict[str, int], expression: str
) -> frozenset[int]:
    if re.search(r"[LW#]", re.sub("|".join(names) or "^$", "", part.upper())):
        raise ScheduleError(f"{expression}: {name} {part!r} uses L, W or #, not run locally")
    values: set[int] = set()
    for item in part.split(","):
        spec, _, step_text = item.partition("/")
        step = _number(step_text, name, expression, {}) if step_text else 1
        if spec in ("*", "?"):
            first, last = low, high
        elif "-" in spec:
            first_text, _, last_text = spec.partition("-")
            first = _number(first_text, name, expression, names)
            last = _number(last_text, name, expression, names)
        else:
            first = _number(spec, name, expression, names)
            last = high if step_text else first
        if not (low <= first <= high and low <= last <= high) or first > last or step < 1:
            raise ScheduleError(f"{expression}: {name} {item!r} is outside {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _number(text: str, name: str, expression: str, names: dict[str, int]) -> int:
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ScheduleError(f"{expression}: {name} {text!r} is not a number")
    return int(text)
