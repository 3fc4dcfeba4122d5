"""A channel's default posting slots: parsing what an editor types, and finding the next free one.

The format is the one Buffer-style schedulers show: days and a time, in the channel's time zone.
Entries are separated by commas: `"mon-fri 09:00, sat 11:30, 18:00"` (a time alone means every day;
days are `mon`..`sun`, a range `mon-fri`, or a list `mon/wed/fri`).
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# How far ahead a free slot is looked for: a channel with one slot a week and a month of posts queued
# still finds one, and a search never runs unbounded.
HORIZON_DAYS = 120


class SlotError(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Slot:
    weekdays: frozenset[int]
    at: time

    def __str__(self):
        if len(self.weekdays) == 7:
            return f"{self.at:%H:%M}"
        return f"{'/'.join(DAYS[d] for d in sorted(self.weekdays))} {self.at:%H:%M}"


def _days(text: str) -> frozenset[int]:
    days = set()
    for part in text.split("/"):
        if "-" in part:
            first, _, last = part.partition("-")
            if first not in DAYS or last not in DAYS:
                raise ValueError(part)
            start, end = DAYS.index(first), DAYS.index(last)
            span = range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)]
            days.update(span)
        elif part in DAYS:
            days.add(DAYS.index(part))
        else:
            raise ValueError(part)
    return frozenset(days)


def parse(text: str) -> list[Slot]:
    """The slots in `text`, or SlotError naming `posting_slots` and the entry it could not read."""
    slots = []
    for entry in (e.strip().lower() for e in (text or "").split(",")):
        if not entry:
            continue
        days_text, _, clock = entry.rpartition(" ")
        try:
            weekdays = _days(days_text.strip()) if days_text.strip() else frozenset(range(7))
        except ValueError as exc:
            raise SlotError("posting_slots", f"{entry!r}: unknown day {exc.args[0]!r} (use mon..sun, mon-fri, "
                                             "mon/wed/fri)")
        try:
            at = datetime.strptime(clock, "%H:%M").time()
        except ValueError:
            raise SlotError("posting_slots", f"{entry!r}: the time must be HH:MM (24-hour), e.g. 09:30")
        slots.append(Slot(weekdays, at))
    return sorted(set(slots), key=lambda s: (s.at, sorted(s.weekdays)))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise SlotError("timezone", f"{name!r} is not a known time zone (IANA names, e.g. Europe/Paris)")


def upcoming(slots: list[Slot], tz: ZoneInfo, after: datetime):
    """Slot times after `after`, in order (aware datetimes in `tz`), for up to HORIZON_DAYS days."""
    local = after.astimezone(tz)
    for offset in range(HORIZON_DAYS + 1):
        day = local.date() + timedelta(days=offset)
        for slot in slots:  # sorted by time of day
            if day.weekday() in slot.weekdays:
                when = datetime.combine(day, slot.at, tzinfo=tz)
                if when > after:
                    yield when


def next_free(slots: list[Slot], tz: ZoneInfo, after: datetime, taken=()) -> datetime | None:
    """The first slot after `after` that no other post of the channel holds yet (None: no slot at all)."""
    taken = {t.timestamp() for t in taken}
    for when in upcoming(slots, tz, after):
        if when.timestamp() not in taken:
            return when
    return None
