"""Follow-ups and reciprocity checked against a reference model written here, in plain Python.

The reference reads PRODUCT.md ("Overdue follow-ups", "Reciprocity") as literally as it can,
over plain lists of the records the API returns; it shares no code with app/. Example tests pin
the edge cases; hypothesis tests build random networks through the HTTP API (contacts, logged
and planned interactions, asks moving through their statuses, hand-made tasks, deletions, a
scheduler run) and compare every page of `GET /v1/follow-ups` and `GET /v1/reciprocity`, and
`GET /v1/contacts/{id}/reciprocity`, with the reference at many `as_of` values: past, now,
future, exactly on a due date or one microsecond either side, around leap days, and written with
offsets other than UTC.

Interpretation notes (the contract leaves these implicit):
- an item is listed only once its `due_at` is strictly before T, for every type: a nudge's due
  date is the ask's `created_at` + 14 days, so an ask open for exactly 14 days is not yet listed;
- snoozing and `track_follow_ups` only affect the contact's reconnect item;
- ties on `due_at` are ordered reconnect, etiquette_task, promise, nudge, then by the
  contact id (reconnect) or the task or ask id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.backdate import set_columns
from tests.conftest import sign_up

# --- the contract's constants, copied from PRODUCT.md (not imported from app/) ---

CIRCLE_CADENCE_DAYS = {
    "coworker": 30,
    "former_coworker": 90,
    "classmate": 180,
    "alumni": 180,
    "community": 60,
    "family": 30,
    "friend": 30,
    "neighbour": 60,
    "career_fair": 14,
    "online": 90,
    "other": 90,
}
KIND_WEIGHTS = {
    "information": 1,
    "advice": 1,
    "support": 1,
    "other": 1,
    "feedback": 2,
    "introduction": 2,
    "referral": 3,
    "mentorship": 3,
    "job": 3,
}
HALF_LIFE_DAYS = 365
STANCE_THRESHOLD = 0.2
NUDGE_AFTER = timedelta(days=14)
OFFER_HELP_DUE = timedelta(days=7)
DAY = timedelta(days=1)
US = timedelta(microseconds=1)
RANK = {"reconnect": 0, "etiquette_task": 1, "promise": 2, "nudge": 3}

CHANNELS = ["in_person", "video", "phone", "letter", "email", "message", "online"]
INTERACTION_KINDS = [
    "meeting",
    "informational_interview",
    "check_in",
    "event",
    "introduction",
    "other",
]
TASK_KINDS = [
    "thank_you_note",
    "confirm_meeting_time",
    "set_objective",
    "reconnect",
    "offer_help",
    "custom",
]

# ---------------------------------------------------------------------------------------------
# The reference model


def parse(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert value.utcoffset() == timedelta(0), f"not UTC: {text}"
    return value


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Contact:
    id: str
    full_name: str
    circle: str
    cadence_days: int | None
    track_follow_ups: bool
    snoozed_until: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, r: dict) -> Contact:
        return cls(
            r["id"],
            r["full_name"],
            r["circle"],
            r["cadence_days"],
            r["track_follow_ups"],
            parse(r["snoozed_until"]),
            parse(r["created_at"]),  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class Interaction:
    id: str
    contact_id: str
    status: str
    occurred_at: datetime

    @classmethod
    def of(cls, r: dict) -> Interaction:
        return cls(r["id"], r["contact_id"], r["status"], parse(r["occurred_at"]))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Ask:
    id: str
    contact_id: str
    direction: str
    kind: str
    status: str
    effort: int | None
    due_at: datetime | None
    created_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, r: dict) -> Ask:
        return cls(
            r["id"],
            r["contact_id"],
            r["direction"],
            r["kind"],
            r["status"],
            r["effort"],
            parse(r["due_at"]),
            parse(r["created_at"]),  # type: ignore[arg-type]
            parse(r["resolved_at"]),
        )


@dataclass(frozen=True)
class Task:
    id: str
    contact_id: str
    kind: str
    status: str
    source: str
    due_at: datetime | None

    @classmethod
    def of(cls, r: dict) -> Task:
        return cls(
            r["id"], r["contact_id"], r["kind"], r["status"], r["source"], parse(r["due_at"])
        )


@dataclass(frozen=True)
class Item:
    type: str
    contact_id: str
    contact_name: str
    due_at: datetime
    days_overdue: int
    reference_id: str | None

    @classmethod
    def of(cls, r: dict) -> Item:
        return cls(
            r["type"],
            r["contact_id"],
            r["contact_name"],
            parse(r["due_at"]),  # type: ignore[arg-type]
            r["days_overdue"],
            r["reference_id"],
        )


def cadence(contact: Contact) -> timedelta:
    days = contact.cadence_days
    return timedelta(days=days if days is not None else CIRCLE_CADENCE_DAYS[contact.circle])


def reconnect_due(contact: Contact, interactions: Iterable[Interaction], t: datetime) -> datetime:
    """`last + cadence`: last = latest completed `occurred_at` ≤ T, else `created_at`."""
    reached = [
        i.occurred_at
        for i in interactions
        if i.contact_id == contact.id and i.status == "completed" and i.occurred_at <= t
    ]
    last = max(reached) if reached else contact.created_at
    return last + cadence(contact)


def reference_follow_ups(
    t: datetime,
    contacts: list[Contact],
    interactions: list[Interaction],
    asks: list[Ask],
    tasks: list[Task],
) -> list[Item]:
    """The follow-up list as of `t`, most overdue first. Records of contacts not in `contacts`
    (deleted) are ignored, as deleting a contact deletes everything about it."""
    by_id = {c.id: c for c in contacts}
    interactions = [i for i in interactions if i.contact_id in by_id]
    asks = [a for a in asks if a.contact_id in by_id]
    tasks = [k for k in tasks if k.contact_id in by_id]
    found: list[tuple[Item, str]] = []  # (item, tie-break key)

    def add(kind: str, contact_id: str, due: datetime, ref: str | None, key: str) -> None:
        # Whole days in integer arithmetic: a float quotient rounds 354,954 days and
        # 23:59:59.999999 up to 354,955.
        days = (t - due) // DAY
        found.append((Item(kind, contact_id, by_id[contact_id].full_name, due, days, ref), key))

    for c in contacts:
        snoozed = c.snoozed_until is not None and c.snoozed_until > t
        if not c.track_follow_ups or snoozed:
            continue
        due = reconnect_due(c, interactions, t)
        if due < t:
            made = [
                k.id
                for k in tasks
                if k.contact_id == c.id
                and k.kind == "reconnect"
                and k.source == "rule"
                and k.status == "pending"
                and k.due_at == due
            ]
            assert len(made) <= 1, made
            add("reconnect", c.id, due, made[0] if made else None, c.id)
    for k in tasks:
        if (
            k.status == "pending"
            and k.kind != "reconnect"
            and k.due_at is not None
            and k.due_at < t
        ):
            add("etiquette_task", k.contact_id, k.due_at, k.id, k.id)
    for a in asks:
        if (
            a.direction == "incoming"
            and a.status == "accepted"
            and a.due_at is not None
            and a.due_at < t
        ):
            add("promise", a.contact_id, a.due_at, a.id, a.id)
        nudge_due = a.created_at + NUDGE_AFTER
        if a.direction == "outgoing" and a.status == "open" and nudge_due < t:
            add("nudge", a.contact_id, nudge_due, a.id, a.id)
    found.sort(key=lambda pair: (pair[0].due_at, RANK[pair[0].type], uuid.UUID(pair[1])))
    return [item for item, _ in found]


@dataclass(frozen=True)
class Balance:
    given: float
    received: float

    @property
    def score(self) -> float:
        total = self.given + self.received
        return 0.0 if total == 0 else (self.given - self.received) / total

    @property
    def stance(self) -> str:
        if self.given == 0 and self.received == 0:
            return "none"
        if self.score > STANCE_THRESHOLD:
            return "giving"
        if self.score < -STANCE_THRESHOLD:
            return "taking"
        return "balanced"


def decayed_weight(kind: str, effort: int | None, resolved_at: datetime, t: datetime) -> float:
    weight = effort if effort is not None else KIND_WEIGHTS[kind]
    age_days = (t - resolved_at) / DAY
    return weight * 0.5 ** (age_days / HALF_LIFE_DAYS)


def reference_balances(t: datetime, contacts: list[Contact], asks: list[Ask]) -> dict[str, Balance]:
    """Per contact with at least one fulfilled ask resolved ≤ T: (given, received)."""
    live = {c.id for c in contacts}
    sums: dict[str, list[float]] = {}
    for a in asks:
        if a.contact_id not in live or a.status != "fulfilled":
            continue
        assert a.resolved_at is not None, a
        if a.resolved_at > t:
            continue
        pair = sums.setdefault(a.contact_id, [0.0, 0.0])
        pair[0 if a.direction == "incoming" else 1] += decayed_weight(
            a.kind, a.effort, a.resolved_at, t
        )
    return {c: Balance(g, r) for c, (g, r) in sums.items()}


def reference_network(balances: dict[str, Balance]) -> Balance:
    return Balance(
        sum(b.given for b in balances.values()), sum(b.received for b in balances.values())
    )


# ---------------------------------------------------------------------------------------------
# Comparing the service with the reference


def approx(value: float) -> Any:
    return pytest.approx(value, rel=1e-9, abs=1e-6)


def allowed_stances(expected: Balance) -> set[str]:
    if expected.given == 0 and expected.received == 0:
        return {"none"}
    if abs(expected.score - STANCE_THRESHOLD) <= 1e-9:
        return {"giving", "balanced"}
    if abs(expected.score + STANCE_THRESHOLD) <= 1e-9:
        return {"taking", "balanced"}
    return {expected.stance}


def assert_balance(actual: dict, expected: Balance, where: str) -> None:
    got = (actual["given"], actual["received"], actual["score"])
    want = (expected.given, expected.received, expected.score)
    assert got == tuple(approx(v) for v in want), f"{where}: {actual} != {expected}"
    assert actual["stance"] in allowed_stances(expected), f"{where}: {actual} vs {expected}"


def as_of_text(moment: datetime, offset: timedelta | None) -> str:
    """`moment` written in another offset (None: with `Z`)."""
    if offset is None:
        return iso(moment)
    return moment.astimezone(timezone(offset)).isoformat()


async def walk_follow_ups(
    client: httpx.AsyncClient,
    h: dict[str, str],
    as_of: str,
    *,
    limit: int = 3,
    repeat_as_of: bool = True,
) -> tuple[datetime, list[dict]]:
    """Every page of `GET /v1/follow-ups`: (the `as_of` answered, the items)."""
    items: list[dict] = []
    answered: datetime | None = None
    params: dict[str, Any] = {"as_of": as_of, "limit": limit}
    for _ in range(200):
        r = await client.get("/v1/follow-ups", params=params, headers=h)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= limit
        moment = parse(page["as_of"])
        assert answered is None or moment == answered, "as_of changed between pages"
        answered = moment
        items += page["items"]
        if page["next_cursor"] is None:
            assert answered is not None
            return answered, items
        assert len(page["items"]) == limit, "a page before the last one is not full"
        params = {"cursor": page["next_cursor"], "limit": limit}
        if repeat_as_of:
            params["as_of"] = as_of
    raise AssertionError("pagination did not end")


async def walk_reciprocity(
    client: httpx.AsyncClient, h: dict[str, str], as_of: str, *, limit: int = 3
) -> tuple[datetime, dict, list[dict]]:
    """Every page of `GET /v1/reciprocity`: (as_of, network, contacts)."""
    rows: list[dict] = []
    network: dict | None = None
    answered: datetime | None = None
    params: dict[str, Any] = {"as_of": as_of, "limit": limit}
    for _ in range(200):
        r = await client.get("/v1/reciprocity", params=params, headers=h)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["contacts"]) <= limit
        assert network is None or page["network"] == network, "network changed between pages"
        network = page["network"]
        moment = parse(page["as_of"])
        assert answered is None or moment == answered, "as_of changed between pages"
        answered = moment
        rows += page["contacts"]
        if page["next_cursor"] is None:
            assert answered is not None and network is not None
            return answered, network, rows
        params = {"cursor": page["next_cursor"], "limit": limit}
    raise AssertionError("pagination did not end")


def assert_follow_ups(actual: list[dict], expected: list[Item], t: datetime) -> None:
    got = [Item.of(r) for r in actual]
    if got != expected:
        lines = [f"follow-ups as of {iso(t)} differ", "service:"]
        lines += [f"  {i}" for i in got]
        lines += ["reference:"]
        lines += [f"  {i}" for i in expected]
        raise AssertionError("\n".join(lines))


def assert_reciprocity(
    network: dict, rows: list[dict], expected: dict[str, Balance], t: datetime
) -> None:
    where = f"as of {iso(t)}"
    assert_balance(network, reference_network(expected), f"network {where}")
    ids = [r["contact_id"] for r in rows]
    assert len(ids) == len(set(ids)), f"a contact is listed twice {where}: {ids}"
    assert set(ids) == set(expected), f"contacts {where}: {sorted(ids)} != {sorted(expected)}"
    for row in rows:
        assert_balance(row, expected[row["contact_id"]], f"contact {row['contact_id']} {where}")
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores), f"not lowest score first {where}: {scores}"


async def check_as_of(
    client: httpx.AsyncClient,
    h: dict[str, str],
    state: State,
    t: datetime,
    offset: timedelta | None,
    *,
    repeat_as_of: bool = True,
    each_contact: bool = True,
    deleted_contacts: Iterable[str] = (),
) -> tuple[list[dict], dict[str, Balance]]:
    """Follow-ups (every page), reciprocity (every page) and, with `each_contact`, each
    contact's reciprocity. Returns the follow-ups and the reference balances."""
    text = as_of_text(t, offset)
    answered, items = await walk_follow_ups(client, h, text, repeat_as_of=repeat_as_of)
    assert answered == t
    assert_follow_ups(
        items,
        reference_follow_ups(t, state.contacts, state.interactions, state.asks, state.tasks),
        t,
    )
    expected = reference_balances(t, state.contacts, state.asks)
    answered, network, rows = await walk_reciprocity(client, h, text)
    assert answered == t
    assert_reciprocity(network, rows, expected, t)
    if not each_contact:
        return items, expected
    for c in state.contacts:
        r = await client.get(f"/v1/contacts/{c.id}/reciprocity", params={"as_of": text}, headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["contact_id"] == c.id
        assert_balance(r.json(), expected.get(c.id, Balance(0.0, 0.0)), f"/contacts/{c.id}")
    for gone in deleted_contacts:
        r = await client.get(f"/v1/contacts/{gone}/reciprocity", params={"as_of": text}, headers=h)
        assert r.status_code == 404, r.text
    return items, expected


# ---------------------------------------------------------------------------------------------
# Talking to the API


@dataclass
class State:
    contacts: list[Contact]
    interactions: list[Interaction]
    asks: list[Ask]
    tasks: list[Task]


async def listed(client: httpx.AsyncClient, h: dict[str, str], url: str) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        r = await client.get(url, params=params, headers=h)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


async def read_state(client: httpx.AsyncClient, h: dict[str, str]) -> State:
    """The caller's live records, as the API lists them."""
    return State(
        contacts=[Contact.of(r) for r in await listed(client, h, "/v1/contacts")],
        interactions=[Interaction.of(r) for r in await listed(client, h, "/v1/interactions")],
        asks=[Ask.of(r) for r in await listed(client, h, "/v1/asks")],
        tasks=[Task.of(r) for r in await listed(client, h, "/v1/etiquette-tasks")],
    )


async def post(client: httpx.AsyncClient, h: dict[str, str], url: str, body: dict) -> dict:
    r = await client.post(url, json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


async def patch(client: httpx.AsyncClient, h: dict[str, str], url: str, body: dict) -> dict:
    r = await client.patch(url, json=body, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


async def delete(client: httpx.AsyncClient, h: dict[str, str], url: str) -> None:
    r = await client.delete(url, headers=h)
    assert r.status_code == 204, r.text


async def contact(client: httpx.AsyncClient, h: dict[str, str], **fields: Any) -> dict:
    return await post(client, h, "/v1/contacts", {"full_name": "Grace Hopper", **fields})


async def interaction(
    client: httpx.AsyncClient, h: dict[str, str], who: dict, occurred_at: datetime, **fields: Any
) -> dict:
    body = {
        "contact_id": who["id"],
        "channel": "email",
        "kind": "check_in",
        "status": "completed",
        "occurred_at": iso(occurred_at),
        **fields,
    }
    return await post(client, h, "/v1/interactions", body)


async def ask(client: httpx.AsyncClient, h: dict[str, str], who: dict, **fields: Any) -> dict:
    body = {
        "contact_id": who["id"],
        "direction": "outgoing",
        "kind": "advice",
        "statement": "Could you look over my resume?",
        "researched": True,
        **fields,
    }
    return await post(client, h, "/v1/asks", body)


async def follow_ups(
    client: httpx.AsyncClient, h: dict[str, str], as_of: datetime | str
) -> list[dict]:
    text = as_of if isinstance(as_of, str) else iso(as_of)
    _, items = await walk_follow_ups(client, h, text, limit=200)
    return items


def created(record: dict) -> datetime:
    moment = parse(record["created_at"])
    assert moment is not None
    return moment


# ---------------------------------------------------------------------------------------------
# The reference itself, on hand-worked cases (no database)

T0 = datetime(2028, 2, 29, 12, tzinfo=UTC)


def test_reference_due_date_is_the_latest_completed_interaction_up_to_t_plus_cadence():
    c = Contact("c", "Grace", "friend", None, True, None, T0 - timedelta(days=100))
    seen = [
        Interaction("a", "c", "completed", T0 - timedelta(days=40)),
        Interaction("b", "c", "planned", T0 - timedelta(days=10)),
        Interaction("d", "c", "completed", T0 + timedelta(days=1)),
    ]
    assert reconnect_due(c, seen, T0) == T0 - timedelta(days=10)  # 40 days ago + 30
    assert reconnect_due(c, [], T0) == T0 - timedelta(days=70)  # created_at + 30
    assert reconnect_due(c, seen, T0 + timedelta(days=1)) == T0 + timedelta(days=31)


def test_reference_follow_ups_order_and_days_overdue():
    c = Contact(str(uuid.uuid4()), "Grace", "other", 10, True, None, T0 - timedelta(days=12))
    due = T0 - timedelta(days=2)
    task = Task(str(uuid.uuid4()), c.id, "custom", "pending", "manual", due)
    promise = Ask(str(uuid.uuid4()), c.id, "incoming", "advice", "accepted", None, due, T0, None)
    nudge = Ask(
        str(uuid.uuid4()), c.id, "outgoing", "advice", "open", None, None, due - NUDGE_AFTER, None
    )
    items = reference_follow_ups(T0 - US, [c], [], [nudge, promise], [task])
    assert [(i.type, i.due_at, i.days_overdue) for i in items] == [
        ("reconnect", due, 1),
        ("etiquette_task", due, 1),
        ("promise", due, 1),
        ("nudge", due, 1),
    ]
    assert reference_follow_ups(due, [c], [], [nudge, promise], [task]) == []
    assert reference_follow_ups(T0, [], [], [nudge, promise], [task]) == []  # contact deleted


def test_reference_decay_and_stance():
    assert decayed_weight("referral", None, T0, T0) == 3
    assert decayed_weight("advice", None, T0 - timedelta(days=365), T0) == 0.5
    assert decayed_weight("job", 1, T0 - timedelta(days=730), T0) == 0.25
    assert Balance(3, 2).stance == "balanced"  # exactly 0.2 is not above it
    assert Balance(1, 3).stance == "taking"
    assert Balance(0, 0).stance == "none"
    assert allowed_stances(Balance(3, 2)) == {"giving", "balanced"}
    asks = [
        Ask("x", "c", "incoming", "job", "fulfilled", None, None, T0, T0),
        Ask("y", "c", "outgoing", "job", "fulfilled", 2, None, T0, T0 + US),  # after T
        Ask("z", "c", "outgoing", "job", "open", None, None, T0, None),
    ]
    contacts = [Contact("c", "Grace", "other", None, True, None, T0)]
    assert reference_balances(T0, contacts, asks) == {"c": Balance(3.0, 0.0)}
    assert reference_balances(T0, [], asks) == {}


# ---------------------------------------------------------------------------------------------
# Example tests: overdue follow-ups


async def test_contact_without_interactions_is_due_from_its_created_at(client, alice):
    c = await contact(client, alice, cadence_days=10)
    due = created(c) + timedelta(days=10)
    assert await follow_ups(client, alice, due) == []  # due < T, strictly
    [item] = await follow_ups(client, alice, due + US)
    assert item == {
        "type": "reconnect",
        "contact_id": c["id"],
        "contact_name": "Grace Hopper",
        "due_at": iso(due),
        "days_overdue": 0,
        "reference_id": None,
    }


async def test_circle_default_cadence_applies_when_cadence_days_is_null(client, alice):
    c = await contact(client, alice, circle="career_fair")
    due = created(c) + timedelta(days=14)
    assert await follow_ups(client, alice, due - US) == []
    [item] = await follow_ups(client, alice, due + timedelta(days=3))
    assert (item["due_at"], item["days_overdue"]) == (iso(due), 3)


async def test_only_planned_or_cancelled_interactions_keep_the_due_date_from_created_at(
    client, alice
):
    c = await contact(client, alice, cadence_days=30)
    long_ago = created(c) - timedelta(days=200)
    await interaction(client, alice, c, long_ago, status="planned")
    await interaction(client, alice, c, long_ago, status="cancelled")
    await interaction(client, alice, c, created(c) + timedelta(days=20), status="planned")
    due = created(c) + timedelta(days=30)
    assert await follow_ups(client, alice, due) == []
    [item] = await follow_ups(client, alice, due + timedelta(hours=1))
    assert item["due_at"] == iso(due)


async def test_completed_interaction_before_the_contact_was_created_still_counts(client, alice):
    # "last" is the latest completed interaction ≤ T, whenever the contact was entered.
    c = await contact(client, alice, cadence_days=30)
    met = created(c) - timedelta(days=100)
    await interaction(client, alice, c, met)
    [item] = await follow_ups(client, alice, created(c))
    assert (item["due_at"], item["days_overdue"]) == (iso(met + timedelta(days=30)), 70)


async def test_interactions_after_as_of_do_not_count(client, alice):
    c = await contact(client, alice, cadence_days=10)
    start = created(c)
    await interaction(client, alice, c, start + timedelta(days=3))
    await interaction(client, alice, c, start + timedelta(days=20))
    # Before the first one: the contact's created_at is `last`.
    assert await follow_ups(client, alice, start + timedelta(days=2)) == []
    # Between the two: the first one is `last`, the later one does not count yet.
    [item] = await follow_ups(client, alice, start + timedelta(days=19))
    assert (item["due_at"], item["days_overdue"]) == (iso(start + timedelta(days=13)), 6)
    # Exactly at the second one: it counts (occurred_at ≤ T).
    assert await follow_ups(client, alice, start + timedelta(days=20)) == []
    [item] = await follow_ups(client, alice, start + timedelta(days=31))
    assert (item["due_at"], item["days_overdue"]) == (iso(start + timedelta(days=30)), 1)


async def test_deleting_or_cancelling_the_latest_interaction_brings_the_earlier_due_date_back(
    client, alice
):
    c = await contact(client, alice, cadence_days=10)
    start = created(c)
    await interaction(client, alice, c, start - timedelta(days=30))
    later = await interaction(client, alice, c, start - timedelta(days=5))
    t = start + timedelta(days=6)
    [item] = await follow_ups(client, alice, t)
    assert (item["due_at"], item["days_overdue"]) == (iso(start + timedelta(days=5)), 1)
    await patch(client, alice, f"/v1/interactions/{later['id']}", {"status": "cancelled"})
    [item] = await follow_ups(client, alice, t)
    assert (item["due_at"], item["days_overdue"]) == (iso(start - timedelta(days=20)), 26)
    await patch(client, alice, f"/v1/interactions/{later['id']}", {"status": "completed"})
    [item] = await follow_ups(client, alice, t)
    assert item["due_at"] == iso(start + timedelta(days=5))
    await delete(client, alice, f"/v1/interactions/{later['id']}")
    [item] = await follow_ups(client, alice, t)
    assert item["due_at"] == iso(start - timedelta(days=20))


async def test_changing_the_cadence_or_circle_moves_the_due_date(client, alice):
    c = await contact(client, alice, circle="friend")  # 30 days
    start = created(c)
    [item] = await follow_ups(client, alice, start + timedelta(days=40))
    assert item["due_at"] == iso(start + timedelta(days=30))
    await patch(client, alice, f"/v1/contacts/{c['id']}", {"circle": "alumni"})  # 180 days
    assert await follow_ups(client, alice, start + timedelta(days=40)) == []
    await patch(client, alice, f"/v1/contacts/{c['id']}", {"cadence_days": 7})
    [item] = await follow_ups(client, alice, start + timedelta(days=40))
    assert item["due_at"] == iso(start + timedelta(days=7))
    await patch(client, alice, f"/v1/contacts/{c['id']}", {"cadence_days": None})
    [item] = await follow_ups(client, alice, start + timedelta(days=181))
    assert item["due_at"] == iso(start + timedelta(days=180))


async def test_snoozed_past_as_of_is_left_out_and_snoozed_until_before_as_of_is_listed(
    client, alice
):
    c = await contact(client, alice, cadence_days=5)
    start = created(c)
    until = start + timedelta(days=20)
    await patch(client, alice, f"/v1/contacts/{c['id']}", {"snoozed_until": iso(until)})
    assert await follow_ups(client, alice, until - US) == []  # snoozed past T
    [item] = await follow_ups(client, alice, until)  # snoozed until exactly T: not past it
    assert item["due_at"] == iso(start + timedelta(days=5))
    [item] = await follow_ups(client, alice, until + timedelta(days=1))
    assert item["days_overdue"] == 16


async def test_snooze_in_the_past_does_not_hide_the_contact(client, alice):
    c = await contact(client, alice, cadence_days=5)
    earlier = created(c) - timedelta(days=1)
    await patch(client, alice, f"/v1/contacts/{c['id']}", {"snoozed_until": iso(earlier)})
    [item] = await follow_ups(client, alice, created(c) + timedelta(days=6))
    assert item["type"] == "reconnect"


async def test_untracked_contact_has_no_reconnect_but_keeps_its_promises(client, alice):
    c = await contact(client, alice, cadence_days=1, track_follow_ups=False)
    due = created(c) + timedelta(days=2)
    promise = await ask(client, alice, c, direction="incoming", status="accepted", due_at=iso(due))
    [item] = await follow_ups(client, alice, created(c) + timedelta(days=10))
    assert (item["type"], item["reference_id"]) == ("promise", promise["id"])
    await patch(client, alice, f"/v1/contacts/{c['id']}", {"track_follow_ups": True})
    types = [i["type"] for i in await follow_ups(client, alice, created(c) + timedelta(days=10))]
    assert types == ["reconnect", "promise"]


async def test_deleted_contact_disappears_from_follow_ups_and_reciprocity(client, alice):
    keep = await contact(client, alice, full_name="Ada Lovelace", cadence_days=1)
    gone = await contact(client, alice, cadence_days=1)
    base = created(gone)
    await interaction(client, alice, gone, base - timedelta(days=10), channel="phone")
    await ask(client, alice, gone, direction="incoming", status="accepted", due_at=iso(base))
    await ask(client, alice, gone)  # open outgoing: a nudge in 14 days
    await ask(client, alice, gone, direction="incoming", status="fulfilled", kind="job")
    await ask(client, alice, keep, status="fulfilled")
    t = base + timedelta(days=30)
    listed_before = {i["contact_id"] for i in await follow_ups(client, alice, t)}
    assert listed_before == {keep["id"], gone["id"]}
    r = await client.get("/v1/reciprocity", params={"as_of": iso(t)}, headers=alice)
    assert {c["contact_id"] for c in r.json()["contacts"]} == {keep["id"], gone["id"]}

    await delete(client, alice, f"/v1/contacts/{gone['id']}")
    items = await follow_ups(client, alice, t)
    assert [i["type"] for i in items] == ["reconnect", "etiquette_task"]  # and a thank-you note
    assert {i["contact_id"] for i in items} == {keep["id"]}
    r = await client.get("/v1/reciprocity", params={"as_of": iso(t)}, headers=alice)
    page = r.json()
    assert [c["contact_id"] for c in page["contacts"]] == [keep["id"]]
    assert page["network"]["given"] == 0
    assert page["network"]["stance"] == "taking"
    r = await client.get(f"/v1/contacts/{gone['id']}/reciprocity", headers=alice)
    assert r.status_code == 404


async def test_days_overdue_is_whole_days_rounded_down(client, alice):
    c = await contact(client, alice, cadence_days=3)
    due = created(c) + timedelta(days=3)
    expected = {
        US: 0,
        DAY - US: 0,
        DAY: 1,
        DAY + US: 1,
        timedelta(days=2.5): 2,
        timedelta(days=400, hours=23, minutes=59): 400,
    }
    for late, days in expected.items():
        [item] = await follow_ups(client, alice, due + late)
        assert item["days_overdue"] == days, late


async def test_as_of_with_an_offset_is_the_same_moment_in_utc(client, alice):
    c = await contact(client, alice, cadence_days=2)
    t = created(c) + timedelta(days=5, microseconds=7)
    for offset in (timedelta(hours=5, minutes=30), timedelta(hours=-7), timedelta(hours=14)):
        r = await client.get(
            "/v1/follow-ups", params={"as_of": as_of_text(t, offset)}, headers=alice
        )
        assert r.status_code == 200, r.text
        assert r.json()["as_of"] == iso(t)
        [item] = r.json()["items"]
        assert (item["due_at"], item["days_overdue"]) == (iso(created(c) + 2 * DAY), 3)


async def test_due_dates_across_a_leap_day(client, alice):
    c = await contact(client, alice, cadence_days=30)
    await interaction(client, alice, c, datetime(2028, 1, 30, 12, tzinfo=UTC))
    due = "2028-02-29T12:00:00Z"
    # 2028-03-01T17:29:59+05:30 is 11:59:59 UTC: not yet a whole day late.
    [item] = await follow_ups(client, alice, "2028-03-01T17:29:59+05:30")
    assert (item["due_at"], item["days_overdue"]) == (due, 0)
    [item] = await follow_ups(client, alice, "2028-03-01T17:30:00+05:30")
    assert (item["due_at"], item["days_overdue"]) == (due, 1)
    assert await follow_ups(client, alice, "2028-02-29T04:00:00-08:00") == []  # 12:00 UTC
    [item] = await follow_ups(client, alice, "2029-02-28T12:00:00Z")  # 365 days later
    assert item["days_overdue"] == 365


async def test_interaction_on_a_leap_day_with_a_yearly_cadence(client, alice):
    c = await contact(client, alice, cadence_days=365)
    await interaction(client, alice, c, datetime(2028, 2, 29, 23, 30, tzinfo=UTC))
    # 365 days after 2028-02-29 is 2029-02-28 (no calendar arithmetic).
    assert await follow_ups(client, alice, "2029-03-01T00:00:00+01:00") == []  # 23:00 UTC
    [item] = await follow_ups(client, alice, "2029-03-01T01:00:00+01:00")
    assert (item["due_at"], item["days_overdue"]) == ("2029-02-28T23:30:00Z", 0)


async def test_nudge_only_after_14_days_open(client, alice):
    c = await contact(client, alice, cadence_days=3650)
    a = await ask(client, alice, c)
    due = created(a) + NUDGE_AFTER
    assert await follow_ups(client, alice, due - DAY) == []
    assert await follow_ups(client, alice, due) == []  # open exactly 14 days: due, not overdue
    [item] = await follow_ups(client, alice, due + US)
    assert item == {
        "type": "nudge",
        "contact_id": c["id"],
        "contact_name": "Grace Hopper",
        "due_at": iso(due),
        "days_overdue": 0,
        "reference_id": a["id"],
    }


async def test_no_nudge_for_accepted_resolved_or_incoming_asks(client, alice):
    c = await contact(client, alice, cadence_days=3650)
    await ask(client, alice, c, status="accepted")
    await ask(client, alice, c, status="withdrawn")
    await ask(client, alice, c, direction="incoming")
    a = await ask(client, alice, c)
    await patch(client, alice, f"/v1/asks/{a['id']}", {"status": "declined"})
    assert await follow_ups(client, alice, created(a) + timedelta(days=30)) == []
    # Reopened: open again, so the nudge counts from its creation as before.
    await patch(client, alice, f"/v1/asks/{a['id']}", {"status": "open"})
    [item] = await follow_ups(client, alice, created(a) + timedelta(days=30))
    assert (item["type"], item["days_overdue"]) == ("nudge", 16)


async def test_promise_past_due(client, alice):
    c = await contact(client, alice, cadence_days=3650)
    due = created(c) + timedelta(days=3)
    promise = await ask(
        client, alice, c, direction="incoming", kind="referral", status="accepted", due_at=iso(due)
    )
    await ask(client, alice, c, direction="incoming", status="accepted")  # no due date
    await ask(client, alice, c, direction="incoming", due_at=iso(due))  # open, not accepted
    await ask(client, alice, c, status="accepted", due_at=iso(due))  # outgoing: not my promise
    assert await follow_ups(client, alice, due) == []
    [item] = await follow_ups(client, alice, due + timedelta(days=2, hours=1))
    assert item == {
        "type": "promise",
        "contact_id": c["id"],
        "contact_name": "Grace Hopper",
        "due_at": iso(due),
        "days_overdue": 2,
        "reference_id": promise["id"],
    }
    await patch(client, alice, f"/v1/asks/{promise['id']}", {"status": "fulfilled"})
    assert await follow_ups(client, alice, due + timedelta(days=3)) == []


async def test_pending_tasks_past_due_are_listed_but_reconnect_tasks_are_not(client, alice):
    c = await contact(client, alice, cadence_days=3650)
    due = created(c) + timedelta(days=1)
    body = {"contact_id": c["id"], "title": "Send the article", "due_at": iso(due)}
    task = await post(client, alice, "/v1/etiquette-tasks", body)
    done = await post(client, alice, "/v1/etiquette-tasks", body)
    await patch(client, alice, f"/v1/etiquette-tasks/{done['id']}", {"status": "done"})
    await post(client, alice, "/v1/etiquette-tasks", {**body, "kind": "reconnect"})
    await post(client, alice, "/v1/etiquette-tasks", {**body, "due_at": None})
    assert await follow_ups(client, alice, due) == []
    [item] = await follow_ups(client, alice, due + US)
    assert (item["type"], item["reference_id"]) == ("etiquette_task", task["id"])


async def test_reconnect_reference_id_is_the_task_the_scheduler_made(client, alice):
    c = await contact(client, alice, cadence_days=5)
    due = created(c) + timedelta(days=5)
    t = due + timedelta(days=2)
    [before] = await follow_ups(client, alice, t)
    assert before["reference_id"] is None
    r = await client.post("/v1/scheduler/run", json={"as_of": iso(t)}, headers=alice)
    assert r.status_code == 200, r.text
    [task] = await listed(client, alice, "/v1/etiquette-tasks")
    assert (task["kind"], task["source"], task["due_at"]) == ("reconnect", "rule", iso(due))
    assert r.json()["follow_ups"]["items"] == [{**before, "reference_id": task["id"]}]
    # The same item at any T with the same due date names the task; it is not listed twice.
    for later in (t, t + timedelta(days=30)):
        [item] = await follow_ups(client, alice, later)
        assert (item["type"], item["reference_id"]) == ("reconnect", task["id"])
    # Closed by the user: the reconnect item stays, without a task to point at.
    await patch(client, alice, f"/v1/etiquette-tasks/{task['id']}", {"status": "done"})
    [item] = await follow_ups(client, alice, t)
    assert (item["type"], item["reference_id"]) == ("reconnect", None)


async def test_items_tied_on_due_date_are_ordered_by_type(client, alice):
    c = await contact(client, alice, cadence_days=10)
    due = created(c) + timedelta(days=10)
    await ask(client, alice, c, direction="incoming", status="accepted", due_at=iso(due))
    body = {"contact_id": c["id"], "title": "Send the article", "due_at": iso(due)}
    await post(client, alice, "/v1/etiquette-tasks", body)
    items = await follow_ups(client, alice, due + DAY)
    assert [i["type"] for i in items] == ["reconnect", "etiquette_task", "promise"]
    assert {i["due_at"] for i in items} == {iso(due)}


async def test_pages_of_three_walk_the_whole_list_once(client, alice):
    ids = []
    for n in range(7):
        c = await contact(client, alice, full_name=f"Contact {n}", cadence_days=1 + n)
        ids.append(c["id"])
    t = created(c) + timedelta(days=30)
    _, paged = await walk_follow_ups(client, alice, iso(t), limit=3, repeat_as_of=False)
    assert [i["contact_id"] for i in paged] == ids  # shorter cadence: due earlier
    assert paged == await follow_ups(client, alice, t)


async def test_pages_split_items_tied_on_due_date_without_skipping_or_repeating(client, alice):
    c = await contact(client, alice, cadence_days=3650)
    due = created(c) + timedelta(days=2)
    body = {"contact_id": c["id"], "title": "Send the article", "due_at": iso(due)}
    tasks = [(await post(client, alice, "/v1/etiquette-tasks", body))["id"] for _ in range(4)]
    promises = [
        (await ask(client, alice, c, direction="incoming", status="accepted", due_at=iso(due)))[
            "id"
        ]
        for _ in range(3)
    ]
    expected = sorted(tasks, key=uuid.UUID) + sorted(promises, key=uuid.UUID)
    for limit in (1, 2, 3):
        _, items = await walk_follow_ups(client, alice, iso(due + DAY), limit=limit)
        assert [i["reference_id"] for i in items] == expected, limit


# ---------------------------------------------------------------------------------------------
# Example tests: reciprocity


async def reciprocity_of(
    client: httpx.AsyncClient, h: dict[str, str], who: dict, as_of: datetime | str
) -> dict:
    text = as_of if isinstance(as_of, str) else iso(as_of)
    r = await client.get(f"/v1/contacts/{who['id']}/reciprocity", params={"as_of": text}, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


async def test_ask_reopened_no_longer_counts(client, alice):
    c = await contact(client, alice)
    a = await ask(client, alice, c, direction="incoming", kind="referral", status="fulfilled")
    resolved = parse(a["resolved_at"])
    assert resolved is not None
    got = await reciprocity_of(client, alice, c, resolved)
    assert (got["given"], got["stance"]) == (3, "giving")
    reopened = await patch(client, alice, f"/v1/asks/{a['id']}", {"status": "open"})
    assert reopened["resolved_at"] is None
    got = await reciprocity_of(client, alice, c, resolved + DAY)
    assert got == {"contact_id": c["id"], "given": 0, "received": 0, "score": 0, "stance": "none"}
    r = await client.get("/v1/reciprocity", params={"as_of": iso(resolved + DAY)}, headers=alice)
    assert r.json()["contacts"] == []
    assert r.json()["network"] == {"given": 0, "received": 0, "score": 0, "stance": "none"}


async def test_ask_resolved_after_as_of_does_not_count(client, alice):
    c = await contact(client, alice)
    a = await ask(client, alice, c, status="fulfilled")
    resolved = parse(a["resolved_at"])
    assert resolved is not None
    assert (await reciprocity_of(client, alice, c, resolved - US))["stance"] == "none"
    got = await reciprocity_of(client, alice, c, resolved)
    assert (got["received"], got["stance"]) == (1, "taking")


async def test_reciprocity_matches_the_reference_for_asks_resolved_years_apart(client, alice, app):
    c = await contact(client, alice)
    other = await contact(client, alice, full_name="Ada Lovelace")
    now = created(c)
    spread = [
        (c, "incoming", "mentorship", None, timedelta(days=3 * 365)),
        (c, "incoming", "advice", 5, timedelta(days=1, hours=3)),
        (c, "outgoing", "referral", None, timedelta(days=400, microseconds=1)),
        (c, "outgoing", "job", 2, timedelta(0)),
        (other, "outgoing", "feedback", None, timedelta(days=365)),
        (other, "incoming", "information", None, timedelta(days=10)),
    ]
    for who, direction, kind, effort, age in spread:
        a = await ask(client, alice, who, direction=direction, kind=kind, effort=effort)
        await patch(client, alice, f"/v1/asks/{a['id']}", {"status": "fulfilled"})
        await set_columns(app, "asks", a["id"], resolved_at=now - age)
    state = await read_state(client, alice)
    for t in (now, now + timedelta(days=1000), datetime(2028, 2, 29, 18, tzinfo=UTC)):
        await check_as_of(client, alice, state, t, timedelta(hours=-3, minutes=-30))


# ---------------------------------------------------------------------------------------------
# Property tests: random networks built through the API, compared with the reference

NOW = "now"
ANCHORS = {
    "leap": datetime(2028, 2, 29, tzinfo=UTC),
    "past_leap": datetime(2024, 2, 29, 6, tzinfo=UTC),
}
OFFSETS = [
    None,  # Z
    timedelta(0),
    timedelta(hours=5, minutes=30),
    timedelta(hours=-7),
    timedelta(hours=14),
    timedelta(hours=-12),
    timedelta(hours=9, minutes=45),
    timedelta(hours=-3, minutes=-30),
]

offsets = st.one_of(
    st.integers(-3 * 86_400_000_000, 3 * 86_400_000_000).map(lambda us: timedelta(microseconds=us)),
    st.builds(
        lambda days, seconds: timedelta(days=days, seconds=seconds),
        st.integers(-800, 800),
        st.integers(0, 86_399),
    ),
)
# A moment: (anchor, offset); "now" is the start of the example.
moments = st.tuples(st.sampled_from([NOW, NOW, "leap", "past_leap"]), offsets)
cadences = st.one_of(st.none(), st.integers(1, 45), st.sampled_from([90, 366, 3650]))
sometimes = st.integers(0, 4).map(lambda n: n == 0)  # True one time in five

contact_specs = st.fixed_dictionaries(
    {
        "circle": st.sampled_from(sorted(CIRCLE_CADENCE_DAYS)),
        "cadence_days": cadences,
        "track_follow_ups": st.integers(0, 5).map(lambda n: n != 0),
        "snoozed_until": st.one_of(st.none(), moments),
        "edit": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {},
                optional={
                    "circle": st.sampled_from(sorted(CIRCLE_CADENCE_DAYS)),
                    "cadence_days": cadences,
                    "track_follow_ups": st.booleans(),
                    "snoozed_until": st.one_of(st.none(), moments),
                    "full_name": st.sampled_from(["Renamed", "Ada Lovelace"]),
                },
            ),
        ),
        "deleted": sometimes,
    }
)
interaction_specs = st.fixed_dictionaries(
    {
        "contact": st.integers(0, 9),
        "channel": st.sampled_from(CHANNELS),
        "kind": st.sampled_from(INTERACTION_KINDS),
        "status": st.sampled_from(["completed", "completed", "planned", "cancelled"]),
        "occurred_at": moments,
        "time_proposed_by": st.sampled_from([None, "me", "contact"]),
        "objective": st.sampled_from([None, "Learn how her team hires"]),
        "edit": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {},
                optional={
                    "status": st.sampled_from(["completed", "planned", "cancelled"]),
                    "occurred_at": moments,
                },
            ),
        ),
        "deleted": sometimes,
    }
)
ASK_PATHS = [
    ["open"],
    ["open"],
    ["accepted"],
    ["open", "accepted"],
    ["fulfilled"],
    ["fulfilled"],
    ["fulfilled"],
    ["declined"],
    ["withdrawn"],
    ["open", "fulfilled"],
    ["open", "fulfilled"],
    ["open", "accepted", "fulfilled"],
    ["fulfilled", "open"],
    ["open", "fulfilled", "open"],
    ["fulfilled", "open", "fulfilled"],
    ["accepted", "withdrawn", "open", "accepted"],
    ["open", "declined", "open"],
]
ask_specs = st.fixed_dictionaries(
    {
        "contact": st.integers(0, 9),
        "direction": st.sampled_from(["outgoing", "incoming"]),
        "kind": st.sampled_from(sorted(KIND_WEIGHTS)),
        "effort": st.one_of(st.none(), st.integers(1, 5)),
        "due_at": st.one_of(st.none(), moments, moments),
        "path": st.sampled_from(ASK_PATHS),
        # Server-set times moved into the past directly in the database.
        "created_ago": st.one_of(st.none(), st.integers(0, 40 * 86_400)),
        "resolved_ago": st.one_of(st.none(), st.integers(0, 1200 * 86_400)),
        "deleted": sometimes,
    }
)
task_specs = st.fixed_dictionaries(
    {
        "contact": st.integers(0, 9),
        "kind": st.sampled_from(TASK_KINDS),
        "due_at": st.one_of(st.none(), moments),
        "status": st.sampled_from(["pending", "pending", "done", "dismissed"]),
        "deleted": sometimes,
    }
)
worlds = st.fixed_dictionaries(
    {
        "contacts": st.lists(contact_specs, min_size=1, max_size=4),
        "interactions": st.lists(interaction_specs, max_size=6),
        "asks": st.lists(ask_specs, max_size=8),
        "tasks": st.lists(task_specs, max_size=2),
        "run": st.one_of(st.none(), moments),
    }
)
AS_OF_KINDS = ["moment", "boundary", "boundary", "fixed", "later", "later"]
FIXED = [
    datetime(2028, 2, 28, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(2028, 2, 29, tzinfo=UTC),
    datetime(2028, 2, 29, 12, tzinfo=UTC),
    datetime(2028, 3, 1, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, tzinfo=UTC),
    datetime(2032, 2, 29, 6, tzinfo=UTC),
    datetime(2021, 6, 1, tzinfo=UTC),
    datetime(1900, 1, 1, tzinfo=UTC),  # the supported range of times, both ends
    datetime(2999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
]


def at(moment: tuple[str, timedelta], now: datetime) -> datetime:
    anchor, offset = moment
    return (now if anchor == NOW else ANCHORS[anchor]) + offset


def json_moment(value: Any, now: datetime) -> Any:
    return iso(at(value, now)) if isinstance(value, tuple) else value


async def build(
    client: httpx.AsyncClient, h: dict[str, str], app: FastAPI, world: dict, now: datetime
) -> list[str]:
    """Make the world through the API; returns the ids of the contacts it deleted."""
    people = []
    for n, spec in enumerate(world["contacts"]):
        body = {
            "full_name": f"Contact {n}",
            "circle": spec["circle"],
            "cadence_days": spec["cadence_days"],
            "track_follow_ups": spec["track_follow_ups"],
            "snoozed_until": json_moment(spec["snoozed_until"], now),
        }
        people.append(await post(client, h, "/v1/contacts", body))

    def whose(spec: dict) -> dict:
        return people[spec["contact"] % len(people)]

    for spec in world["interactions"]:
        body = {
            "contact_id": whose(spec)["id"],
            "channel": spec["channel"],
            "kind": spec["kind"],
            "status": spec["status"],
            "occurred_at": json_moment(spec["occurred_at"], now),
            "time_proposed_by": spec["time_proposed_by"],
            "objective": spec["objective"],
        }
        made = await post(client, h, "/v1/interactions", body)
        url = f"/v1/interactions/{made['id']}"
        if spec["edit"]:
            changes = {k: json_moment(v, now) for k, v in spec["edit"].items()}
            await patch(client, h, url, changes)
        if spec["deleted"]:
            await delete(client, h, url)

    for spec in world["asks"]:
        first, *then = spec["path"]
        body = {
            "contact_id": whose(spec)["id"],
            "direction": spec["direction"],
            "kind": spec["kind"],
            "statement": "Could you help?",
            "effort": spec["effort"],
            "due_at": json_moment(spec["due_at"], now),
            "status": first,
        }
        made = await post(client, h, "/v1/asks", body)
        url = f"/v1/asks/{made['id']}"
        for status in then:
            made = await patch(client, h, url, {"status": status})
        if spec["created_ago"] is not None:
            moved = now - timedelta(seconds=spec["created_ago"])
            await set_columns(app, "asks", made["id"], created_at=moved)
        if spec["resolved_ago"] is not None and made["resolved_at"] is not None:
            moved = now - timedelta(seconds=spec["resolved_ago"])
            await set_columns(app, "asks", made["id"], resolved_at=moved)
        if spec["deleted"]:
            await delete(client, h, url)

    for spec in world["tasks"]:
        body = {
            "contact_id": whose(spec)["id"],
            "kind": spec["kind"],
            "title": "Something to do",
            "due_at": json_moment(spec["due_at"], now),
        }
        made = await post(client, h, "/v1/etiquette-tasks", body)
        url = f"/v1/etiquette-tasks/{made['id']}"
        if spec["status"] != "pending":
            await patch(client, h, url, {"status": spec["status"]})
        if spec["deleted"]:
            await delete(client, h, url)

    deleted = []
    for person, spec in zip(people, world["contacts"], strict=True):
        url = f"/v1/contacts/{person['id']}"
        if spec["edit"]:
            changes = {k: json_moment(v, now) for k, v in spec["edit"].items()}
            await patch(client, h, url, changes)
        if spec["deleted"]:
            await delete(client, h, url)
            deleted.append(person["id"])
    return deleted


def boundaries(state: State) -> list[datetime]:
    """Moments where an answer changes: due dates, snooze ends, interaction and resolve times."""
    out: list[datetime] = []
    for c in state.contacts:
        out.append(c.created_at + cadence(c))
        if c.snoozed_until is not None:
            out.append(c.snoozed_until)
        for i in state.interactions:
            if i.contact_id == c.id and i.status == "completed":
                out += [i.occurred_at, i.occurred_at + cadence(c)]
    out += [k.due_at for k in state.tasks if k.due_at is not None]
    for a in state.asks:
        out.append(a.created_at + NUDGE_AFTER)
        out += [m for m in (a.due_at, a.resolved_at) if m is not None]
    return out


def check_run(run: dict, before_run: State, after_run: State, as_of: datetime) -> None:
    """The run's answer is the first page of both lists as of the run, with the tasks it made;
    it made one reconnect task per overdue contact and one offer_help per taking contact."""
    assert parse(run["as_of"]) == as_of
    expected = reference_follow_ups(
        as_of, after_run.contacts, after_run.interactions, after_run.asks, after_run.tasks
    )
    assert_follow_ups(run["follow_ups"]["items"], expected[:50], as_of)
    balances = reference_balances(as_of, after_run.contacts, after_run.asks)
    page = run["reciprocity"]
    assert_reciprocity(page["network"], page["contacts"], balances, as_of)

    before = {k.id for k in before_run.tasks}
    new = [k for k in after_run.tasks if k.id not in before]
    assert run["tasks_created"] == len(new)
    reconnects = sorted((k.contact_id, k.due_at) for k in new if k.kind == "reconnect")
    overdue = sorted((i.contact_id, i.due_at) for i in expected if i.type == "reconnect")
    assert reconnects == overdue
    offers = {k.contact_id for k in new if k.kind == "offer_help"}
    assert all(k.due_at == as_of + OFFER_HELP_DUE for k in new if k.kind == "offer_help")
    for contact_id, b in balances.items():
        if allowed_stances(b) == {"taking"}:
            assert contact_id in offers, (contact_id, b)
        elif "taking" not in allowed_stances(b):
            assert contact_id not in offers, (contact_id, b)
    assert offers <= set(balances)
    assert len(new) == len(reconnects) + len(offers)
    assert all(k.source == "rule" and k.status == "pending" for k in new)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=worlds, data=st.data())
async def test_random_networks_match_the_reference(client, app, world, data):
    h = await sign_up(client)  # a fresh user per example: the database outlives examples
    now = datetime.now(UTC)
    deleted = await build(client, h, app, world, now)
    state = await read_state(client, h)
    assert len(state.contacts) == len(world["contacts"]) - len(deleted)
    if world["run"] is not None:
        run_at = at(world["run"], now)
        r = await client.post("/v1/scheduler/run", json={"as_of": iso(run_at)}, headers=h)
        assert r.status_code == 200, r.text
        before_run, state = state, await read_state(client, h)
        check_run(r.json(), before_run, state, run_at)

    edges = boundaries(state)
    for n in range(3):
        kind = data.draw(st.sampled_from(AS_OF_KINDS), label="as_of kind")
        if kind == "boundary" and edges:
            t = data.draw(st.sampled_from(edges), label="boundary")
            t += data.draw(st.sampled_from([-US, timedelta(0), US]), label="jitter")
        elif kind == "fixed":
            t = data.draw(st.sampled_from(FIXED), label="fixed")
        elif kind == "later":  # where nudges, promises and most asks' help count
            t = now + data.draw(offsets.map(abs), label="later") + NUDGE_AFTER
        else:
            t = at(data.draw(moments, label="moment"), now)
        offset = data.draw(st.sampled_from(OFFSETS), label="offset")
        repeat = data.draw(st.booleans(), label="repeat as_of on later pages")
        items, balances = await check_as_of(
            client,
            h,
            state,
            t,
            offset,
            repeat_as_of=repeat,
            each_contact=n == 0,  # one `as_of` is enough for the per-contact endpoint
            deleted_contacts=deleted,
        )
        for kind in sorted({i["type"] for i in items}):
            event(f"follow-ups hold a {kind}")
        event(f"follow-ups with {min(len(items), 4)}{'+' if len(items) >= 4 else ''} items")
        event(f"reciprocity with {min(len(balances), 2)}{'+' if len(balances) >= 2 else ''}")
        stances = {b.stance for b in balances.values()}
        for stance in sorted(stances):
            event(f"a contact is {stance}")


async def test_a_run_late_in_the_supported_range_leaves_the_users_tasks_readable(app, alice):
    """Times up to 2999-12-31 are accepted, and rule 6's offer_help task is due at the run's
    `as_of` + 7 days. Either such a run is refused (422), or the task it makes can be read back:
    a stored due date in year 3000 that no response can serve breaks every later read."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://rapport.test") as client:
        c = await contact(client, alice)
        await ask(client, alice, c, status="fulfilled")  # received only: taking
        run = await client.post(
            "/v1/scheduler/run", json={"as_of": "2999-12-30T00:00:00Z"}, headers=alice
        )
        assert run.status_code in (200, 422), run.text
        r = await client.get("/v1/etiquette-tasks", headers=alice)
        assert r.status_code == 200, f"after a run answering {run.status_code}: {r.text}"
        offers = [t for t in r.json()["items"] if t["kind"] == "offer_help"]
        assert [t["due_at"] for t in offers] == ["3000-01-06T00:00:00Z"]


async def test_a_rule_task_derived_past_year_2999_is_served(client, alice):
    """Rule 1: a call late on 2999-12-30 is thanked 48 h later, in year 3000. The year limit
    is on what clients send; what the server derives is still served."""
    c = await contact(client, alice)
    r = await client.post(
        "/v1/interactions",
        json={"contact_id": c["id"], "channel": "phone", "occurred_at": "2999-12-30T12:00:00Z"},
        headers=alice,
    )
    assert r.status_code == 201, r.text
    r = await client.get("/v1/etiquette-tasks", headers=alice)
    assert r.status_code == 200, r.text
    assert [t["due_at"] for t in r.json()["items"]] == ["3000-01-01T12:00:00Z"]
