"""The feed as iCalendar (RFC 5545), written by the `icalendar` library."""

from __future__ import annotations

from datetime import UTC, timedelta

from icalendar import Calendar, Event, vDuration

from app.calendar.service import Feed

PRODID = "-//Rapport//Calendar feed 1.0//EN"
# How often subscribers should fetch again: overdue items move to the new "today" at midnight
# and new tasks appear between fetches, so a few hours rather than the usual day.
REFRESH = timedelta(hours=3)
MEDIA_TYPE = "text/calendar; charset=utf-8"


def render(feed: Feed) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Rapport")
    description = "Etiquette tasks and follow-ups from Rapport."
    if feed.truncated:
        description += f" Only the {feed.limit} earliest are shown."
    cal.add("x-wr-caldesc", description)
    # RFC 7986's property, and the older one Apple and Microsoft clients read.
    cal.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    for item in feed.events:
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", item.stamp.astimezone(UTC))
        event.add("dtstart", item.day)
        event.add("dtend", item.day + timedelta(days=1))
        event.add("summary", item.summary)
        event.add("description", item.description)
        event.add("categories", [item.category])
        # A reminder, not an appointment: it does not make the person look busy.
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()
