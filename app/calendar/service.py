"""The calendar feed: its secret, and which items it shows, on which day, under which words.

Every item is an all-day event in the user's time zone: on its due date when that is still
ahead, on today when it is overdue (or has no due date), so a phone's calendar shows what to
do today at the top of the day rather than at the odd hour a cadence happens to end, and an
overdue courtesy never slides out of sight into the past. See docs/architecture.md.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import repository as users
from app.auth.models import User
from app.calendar import repository as repo
from app.core.errors import NotFound
from app.core.security import token_digest
from app.etiquette.models import TaskKind, TaskSource
from app.scheduler.queries import NUDGE_AFTER, RANKS

# Reconnect items, promises and nudges due within this much of now are shown ahead of time.
UPCOMING = timedelta(days=30)
# `secrets.token_urlsafe(32)` is 43 characters: a far longer path segment is not a token of
# ours, and is answered 404 without hashing it.
MAX_TOKEN_LENGTH = 128
DAY = timedelta(days=1)
_SHORT_STATEMENT = 60
_LONG_STATEMENT = 1000

_NO_FEED = "No calendar feed is enabled; create one with POST /v1/me/calendar-token."
_UNKNOWN_FEED = "No calendar feed at this address."


# ---------------------------------------------------------------------------------------------
# The feed's secret


async def _locked_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await users.get_user(session, user_id, lock=True)
    if user is None:
        raise NotFound("The account of this token no longer exists.")
    return user


async def rotate_token(session: AsyncSession, user_id: uuid.UUID) -> str:
    """A new secret for the user's feed; the previous one stops working with this commit.

    Only its SHA-256 is stored. The user's `version` does not move: the secret is not part of
    the user's representation, so `GET /v1/me` ETags stay valid.
    """
    user = await _locked_user(session, user_id)
    token = secrets.token_urlsafe(32)
    user.calendar_token_hash = token_digest(token)
    session.add(user)
    await session.flush()
    return token


async def disable(session: AsyncSession, user_id: uuid.UUID) -> None:
    user = await _locked_user(session, user_id)
    if user.calendar_token_hash is None:
        raise NotFound(_NO_FEED)
    user.calendar_token_hash = None
    session.add(user)
    await session.flush()


async def owner_of(session: AsyncSession, token: str) -> User:
    """The user whose feed this secret opens; 404 for any other string.

    The lookup is by the secret's hash on a unique index, so no stored secret is ever compared
    with the given one character by character.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotFound(_UNKNOWN_FEED)
    user = await repo.user_by_token_hash(session, token_digest(token))
    if user is None:
        raise NotFound(_UNKNOWN_FEED)
    return user


# ---------------------------------------------------------------------------------------------
# The feed's events


@dataclass(frozen=True)
class FeedEvent:
    uid: str
    day: date  # all-day, in the user's time zone
    summary: str
    description: str
    category: str
    # When the record behind the event last changed (DTSTAMP): not the time of the request,
    # so that an unchanged feed is byte for byte the same and its ETag answers 304.
    stamp: datetime


@dataclass(frozen=True)
class Feed:
    events: list[FeedEvent]
    # More items were due than the feed shows (it keeps the `limit` earliest).
    truncated: bool
    limit: int


def zone_of(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.timezone)
    except (ZoneInfoNotFoundError, ValueError):  # validated on input; a zone dropped since
        return ZoneInfo("UTC")


def _overdue(due: datetime | None, now: datetime) -> str:
    """The summary's suffix: the whole days overdue, as `GET /v1/follow-ups` counts them."""
    if due is None or due >= now:
        return ""
    days = (now - due) // DAY
    if days == 0:
        return " (overdue)"
    return f" ({days} day{'' if days == 1 else 's'} overdue)"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_TASK_LABELS = {
    TaskKind.thank_you_note.value: "Thank-you note to {name}",
    TaskKind.confirm_meeting_time.value: "Confirm the meeting time with {name}",
    TaskKind.set_objective.value: "Set an objective for meeting {name}",
    TaskKind.reconnect.value: "Reconnect with {name}",
    TaskKind.offer_help.value: "Offer your help to {name}",
}


class _Words:
    """Dates and times as the user reads them."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def day(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime("%a %d %b %Y")

    def time(self, moment: datetime) -> str:
        local = moment.astimezone(self.zone)
        return f"{local.strftime('%a %d %b %Y, %H:%M')} ({self.zone.key})"


def _task_event(row: repo.TaskRow, now: datetime, words: _Words, day: date) -> FeedEvent:
    label = _TASK_LABELS.get(row.kind)
    # The rule's own titles froze the contact's name when they were made; a title the user
    # wrote is theirs to keep.
    if row.source == TaskSource.rule.value and label is not None:
        headline = label.format(name=row.contact_name)
    else:
        headline = row.title
    lines = [row.title, f"Contact: {row.contact_name}"]
    lines.append(f"Due {words.time(row.due)}." if row.due is not None else "No due date.")
    return FeedEvent(
        uid=f"task-{row.id}@rapport",
        day=day,
        summary=headline + _overdue(row.due, now),
        description="\n".join(lines),
        category="Etiquette",
        stamp=row.changed_at,
    )


def _follow_up_event(row: repo.FollowUpRow, now: datetime, words: _Words, day: date) -> FeedEvent:
    name = row.contact_name
    statement = row.statement or ""
    if row.rank == RANKS["reconnect"]:
        # The contact and its due date name the item: a new due date (a new interaction) is a
        # new reminder, while the same one keeps its UID from fetch to fetch.
        uid = f"reconnect-{row.contact_id}-{row.due.astimezone(UTC):%Y%m%d}@rapport"
        summary, category = f"Reconnect with {name}", "Reconnect"
        ends = "ended" if row.due < now else "ends"
        description = (
            f"Your keep-in-touch interval with {name} {ends} on {words.day(row.due)}: "
            "a short message or a coffee keeps the connection warm."
        )
    elif row.rank == RANKS["promise"]:
        uid, category = f"promise-{row.key}@rapport", "Promise"
        summary = f"Promised to {name}: {_shorten(statement, _SHORT_STATEMENT)}"
        description = (
            f"You accepted {name}'s ask: {_shorten(statement, _LONG_STATEMENT)}\n"
            f"Due {words.time(row.due)}."
        )
    else:
        uid, category = f"nudge-{row.key}@rapport", "Nudge"
        summary = f"Follow up on your ask to {name}"
        description = (
            f"Your ask to {name} has been open since {words.day(row.due - NUDGE_AFTER)}: "
            f"{_shorten(statement, _LONG_STATEMENT)}\nA polite follow-up may help."
        )
    return FeedEvent(
        uid=uid,
        day=day,
        summary=summary + _overdue(row.due, now),
        description=description,
        category=category,
        stamp=row.changed_at,
    )


async def feed(session: AsyncSession, user: User, *, now: datetime, limit: int) -> Feed:
    """The user's feed as of `now`: at most `limit` events, the earliest due first.

    Each source is read in due order and cut at `limit + 1` in SQL, so the merge below holds
    at most 2 × (limit + 1) rows whatever the size of the network.
    """
    zone = zone_of(user)
    words = _Words(zone)
    today = now.astimezone(zone).date()

    def day_of(due: datetime | None) -> date:
        if due is None or due < now:
            return today
        return due.astimezone(zone).date()

    follow_ups = await repo.follow_up_rows(session, user.id, now, now + UPCOMING, limit + 1)
    tasks = await repo.pending_tasks(session, user.id, now, limit + 1)
    # The follow-up list's order: due date, then reconnect, task, promise, nudge, then id.
    ordered: list[tuple[tuple[datetime, int, uuid.UUID], FeedEvent]] = [
        ((row.due, row.rank, row.key), _follow_up_event(row, now, words, day_of(row.due)))
        for row in follow_ups
    ]
    ordered += [
        (
            (row.due or now, RANKS["etiquette_task"], row.id),
            _task_event(row, now, words, day_of(row.due)),
        )
        for row in tasks
    ]
    ordered.sort(key=lambda pair: pair[0])
    return Feed(
        events=[event for _, event in ordered[:limit]],
        truncated=len(ordered) > limit,
        limit=limit,
    )
