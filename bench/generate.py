"""Load realistic volumes straight into a migrated database, for the benchmarks.

    python -m bench.generate --url postgresql://… --dataset power-user [--scale 0.1]
    python -m bench.generate --url sqlite:///bench.db --dataset power-user

The data is made in Python from a seed (the same seed, sizes and anchor give the same rows) and
loaded without the app: COPY (asyncpg `copy_records_to_table`) on PostgreSQL, `executemany` in
large transactions on SQLite. While loading, foreign keys are not checked (the rows are made
consistent) and the secondary indexes are dropped, then rebuilt from their own definitions and
the tables analysed, so the schema ends exactly as `alembic upgrade head` left it.

What "realistic" means here (PRODUCT.md's concepts):
- contacts spread over the circles, created over the last three years, some with their own
  `cadence_days`; about 6 % not tracked and 4 % snoozed into the future;
- interactions per contact follow a skewed (log-normal) spread — a few close contacts get most
  of them, some contacts none — over the contact's lifetime up to the anchor: mostly completed,
  some planned (most of those in the coming weeks), some cancelled, 1 % deleted; channels and
  kinds mixed, objectives and summaries on some;
- asks in both directions, every kind and status, `resolved_at` on resolved ones, due dates and
  efforts on some, 1 % deleted;
- etiquette tasks: those the app's rules 1–4 make on write (thank-you notes, meeting-time
  confirmations, objectives; keyed as the app keys them) for every record written in the last
  RULE_TASKS_DAYS days, so that the scheduler's re-check of recent records finds nothing
  missing, as it would in service; older records get only a few, with some custom tasks;
  pending or closed.
The maintained columns are filled as the app maintains them: (app/contacts/follow_up.py)
`last_contacted_at` = the latest `occurred_at` of the contact's completed, non-deleted
interactions; `follow_up_due_at` = (that, or `created_at`) + the cadence; (app/asks/balance.py)
`reciprocity_given` / `reciprocity_received` = its fulfilled, non-deleted asks' weights ×
2 ** (days from the epoch to `resolved_at` / 365), by direction, `reciprocity_score` the score
they give (null without a fulfilled ask), `last_resolved_at` the latest `resolved_at` of those.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic.config import Config

from alembic import command
from app.asks.balance import EPOCH as RECIPROCITY_EPOCH
from app.asks.reciprocity import HALF_LIFE_DAYS, KIND_WEIGHTS
from app.contacts.keys import email_key, phone_key
from app.core.config import dialect_of
from app.core.vocabulary import CIRCLE_CADENCE_DAYS, AskKind, Circle

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------
# Sizes


@dataclass(frozen=True)
class Dataset:
    key: str
    users: int
    contacts_per_user: int
    interactions_per_user: int
    asks_per_contact: float
    tasks_per_user: int
    # Contacts generated (and their rows written) together; interactions of a batch are
    # written in creation order, so a contact's history is spread over the table's pages.
    batch_contacts: int = 1_000

    def scaled(self, scale: float) -> Dataset:
        """Smaller (or larger) for quick runs: fewer users, or a smaller single user."""
        if scale == 1:
            return self
        if self.users > 1:
            return replace(self, users=max(1, round(self.users * scale)))
        return replace(
            self,
            contacts_per_user=max(10, round(self.contacts_per_user * scale)),
            interactions_per_user=max(10, round(self.interactions_per_user * scale)),
            tasks_per_user=max(1, round(self.tasks_per_user * scale)),
        )

    @property
    def contacts(self) -> int:
        return self.users * self.contacts_per_user

    @property
    def interactions(self) -> int:
        return self.users * self.interactions_per_user


POWER_USER = Dataset(
    "power-user",
    users=1,
    contacts_per_user=10_000,
    interactions_per_user=1_000_000,
    asks_per_contact=3.0,
    tasks_per_user=300,
)
ALL_USERS = Dataset(
    "all-users",
    users=1_000,
    contacts_per_user=1_000,
    interactions_per_user=10_000,
    asks_per_contact=0.5,
    tasks_per_user=5,
)
DATASETS = {d.key: d for d in (POWER_USER, ALL_USERS)}

# ---------------------------------------------------------------------------------------------
# Columns, in the order of the tables (checked against the models at load time)

COLUMNS: dict[str, tuple[str, ...]] = {
    "users": (
        "id", "email", "password_hash", "display_name", "timezone", "created_at", "updated_at",
        "version", "scheduled_at", "calendar_token_hash",
    ),
    "contacts": (
        "id", "owner_id", "created_at", "updated_at", "version", "deleted_at", "sync_seq",
        "full_name", "email", "phone", "organization", "title", "field", "circle", "how_met",
        "tags", "notes", "role", "open_to", "cadence_days", "track_follow_ups", "snoozed_until",
        "last_contacted_at", "follow_up_due_at", "reciprocity_given", "reciprocity_received",
        "reciprocity_score", "last_resolved_at", "email_key", "phone_key",
    ),
    "interactions": (
        "id", "owner_id", "created_at", "updated_at", "version", "deleted_at", "sync_seq",
        "contact_id", "channel", "kind", "status", "occurred_at", "objective", "summary",
        "time_proposed_by",
    ),
    "asks": (
        "id", "owner_id", "created_at", "updated_at", "version", "deleted_at", "sync_seq",
        "contact_id", "direction", "kind", "statement", "researched", "status", "due_at",
        "resolved_at", "effort",
    ),
    "etiquette_tasks": (
        "id", "owner_id", "created_at", "updated_at", "version", "deleted_at", "sync_seq",
        "contact_id", "kind", "title", "due_at", "status", "completed_at", "closed_by",
        "closed_at", "source", "rule_key", "interaction_id", "ask_id",
    ),
}  # fmt: skip
TABLES = tuple(COLUMNS)  # parents first
# Rows loaded here were never written through the app: they sit at the start of the sync feed,
# as rows from before the feed existed do.
SYNC_SEQ = 0


def check_columns() -> None:
    """Fail loudly when the models gained or lost a column the generator does not fill."""
    from sqlmodel import SQLModel

    import app.models  # noqa: F401  (registers every table)

    for name, columns in COLUMNS.items():
        actual = tuple(c.name for c in SQLModel.metadata.tables[name].columns)
        if actual != columns:
            raise RuntimeError(f"bench/generate.py is out of date for {name}: {actual}")


# ---------------------------------------------------------------------------------------------
# Vocabulary and weights


def _table(weights: dict[Any, float], size: int = 1000) -> list[Any]:
    """A lookup list: `table[int(random() * len(table))]` draws with these weights."""
    total = sum(weights.values())
    out: list[Any] = []
    for value, weight in weights.items():
        out += [value] * round(size * weight / total)
    return out


CIRCLES = _table(
    {
        Circle.coworker: 18, Circle.former_coworker: 14, Circle.classmate: 8, Circle.alumni: 10,
        Circle.community: 8, Circle.family: 4, Circle.friend: 8, Circle.neighbour: 3,
        Circle.career_fair: 6, Circle.online: 14, Circle.other: 7,
    }
)  # fmt: skip
CADENCE_CHOICES = (7, 14, 30, 45, 60, 90, 180, 365)
ROLES = _table({None: 55, "peer": 25, "mentor": 10, "role_model": 4, "mentee": 6})
CHANNELS = _table(
    {"email": 30, "message": 20, "in_person": 15, "video": 12, "phone": 12, "letter": 3,
     "online": 8}
)  # fmt: skip
INTERACTION_KINDS = _table(
    {"check_in": 35, "meeting": 20, "informational_interview": 8, "event": 10,
     "introduction": 7, "other": 20}
)  # fmt: skip
ASK_KINDS = _table(
    {
        AskKind.advice: 25, AskKind.information: 20, AskKind.feedback: 15,
        AskKind.introduction: 12, AskKind.referral: 8, AskKind.support: 8,
        AskKind.mentorship: 5, AskKind.job: 4, AskKind.other: 3,
    }
)  # fmt: skip
ASK_STATUSES = _table(
    {"fulfilled": 55, "open": 12, "accepted": 10, "declined": 13, "withdrawn": 10}
)
RESOLVED = {"fulfilled", "declined", "withdrawn"}
THANKED_CHANNELS = {"in_person", "video", "phone"}
THANKED_KINDS = {"meeting", "informational_interview", "event"}
MEETING_KINDS = {"meeting", "informational_interview"}
TASK_STATUSES = _table({"pending": 40, "done": 45, "dismissed": 15})
# Rules 1–4 tasks are made, as the app makes them on write, for the records written in the
# last RULE_TASKS_DAYS (all of them: the scheduler re-checks the last week and must find them);
# older records get only a few (the table would hold one per past meeting).
RULE_TASKS_DAYS = 30

FIRST = (
    "Ada", "Grace", "Alan", "Barbara", "Edsger", "Donald", "Frances", "Margaret", "John",
    "Katherine", "Dennis", "Ken", "Radia", "Leslie", "Tim", "Vint", "Shafi", "Judea", "Fei-Fei",
    "Yann", "Geoffrey", "Hedy", "Annie", "Mary", "Dorothy", "Evelyn", "Jean", "Kathleen",
    "Lynn", "Sophie", "Wei", "Priya", "Amara", "Diego", "Lucia", "Kwame", "Ingrid", "Mateo",
    "Aiko", "Noor", "Olu",
)  # fmt: skip
LAST = (
    "Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Knuth", "Allen", "Hamilton",
    "McCarthy", "Johnson", "Ritchie", "Thompson", "Perlman", "Lamport", "Berners-Lee", "Cerf",
    "Goldwasser", "Pearl", "Li", "LeCun", "Hinton", "Lamarr", "Easley", "Keller", "Vaughan",
    "Boyd", "Bartik", "Booth", "Conway", "Wilson", "Zhang", "Raman", "Okafor", "Alvarez",
    "Rossi", "Mensah", "Larsen", "Silva", "Tanaka", "Haddad", "Adeyemi",
)  # fmt: skip
ORGANIZATIONS = (
    "Acme Corp", "Globex", "Initech", "Umbrella Labs", "Hooli", "Stark Industries", "Wayne "
    "Enterprises", "City Hospital", "State University", "Riverside School District", "Open "
    "Source Foundation", "Northwind Traders", "Contoso", "Fabrikam", "Tyrell Corp",
)  # fmt: skip
TITLES = (
    "Software Engineer", "Engineering Manager", "Recruiter", "Product Manager", "Data "
    "Scientist", "Designer", "Director", "Professor", "Nurse", "Teacher", "Consultant", "CTO",
)  # fmt: skip
FIELDS = ("software", "healthcare", "education", "finance", "design", "research", "sales")
HOW_MET = (
    "Alumni mixer",
    "Conference hallway",
    "Introduced by a friend",
    "Former team",
    "Career fair booth",
    "Online community",
    "Volunteering",
    "Neighbourhood association",
)
TAGS = ("python", "hiring", "mentor", "compilers", "design", "startup", "remote", "ml", "ops")
ASK_KIND_NAMES = tuple(k.value for k in AskKind)
OBJECTIVES = (
    "Learn how their team hires junior engineers.",
    "Ask for feedback on my portfolio.",
    "Understand what a day in the role looks like.",
    "Catch up and hear about the new project.",
    "Ask who else I should talk to in the field.",
)
SUMMARIES = (
    "Talked about the team's roadmap; they suggested I read the design docs first.",
    "Quick catch-up. They are moving to a new role next month and offered an introduction "
    "to their manager, who is hiring for a platform team.",
    "Good conversation about career paths in research versus industry. Follow up in spring.",
    "They reviewed my resume and suggested leading with impact, not responsibilities. Send "
    "the revised version next week.",
    "Met at the meetup; shared notes on the talk and agreed to swap reading lists.",
)
STATEMENTS = (
    "Could you look over my resume for a platform-engineer role?",
    "Would you introduce me to someone on the data team?",
    "What do you wish you had known before moving into management?",
    "Could you refer me for the open position on your team?",
    "Can you share how your company runs design reviews?",
    "Would you be willing to mentor me through my first year?",
)
CUSTOM_TASKS = ("Send the article we discussed", "Congratulate on the new role", "Share notes")

# One Argon2id hash of "benchmark password", so that the generated users can log in.
PASSWORD_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$i2a8MwDyFXdBRylU0ucUfw$"
    "bfG3aZ5SoFJtEV72Z9z7nfzvOmKEx6qX1I8UsYLJuoU"
)


def user_email(dataset: Dataset, index: int) -> str:
    return f"{dataset.key}-{index:05d}@bench.rapport.test"


def user_id(seed: int, dataset: Dataset, index: int) -> uuid.UUID:
    rng = random.Random(f"{seed}:{dataset.key}:{index}:id")
    return uuid.UUID(int=rng.getrandbits(128), version=4)


# ---------------------------------------------------------------------------------------------
# Rows


class Encoding:
    """How values go to the database: PostgreSQL takes uuid and aware datetime objects (binary
    COPY); SQLite takes what the app stores there, 32 hex digits and naive UTC text."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    def uuid(self, bits: int) -> Any:
        """A version-4 uuid from 128 random bits. Built without `UUID.__init__` (its checks
        cost more than the rest of a row), which is what `uuid.UUID(int=…, version=4)` gives."""
        value = (bits & ~(0xF000 << 64) | (0x4000 << 64)) & ~(0xC000 << 48) | (0x8000 << 48)
        if self.dialect == "sqlite":
            return format(value, "032x")
        out = _new(uuid.UUID)
        _set(out, "int", value)
        _set(out, "is_safe", _UNKNOWN)
        return out

    def uuid_text(self, value: Any) -> str:
        """`str(uuid)` of an encoded uuid (rule keys hold the 8-4-4-4-12 form)."""
        if self.dialect != "sqlite":
            return str(value)
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"

    def time(self, micros: int) -> Any:
        """A time given in microseconds since the epoch (integers keep sums exact)."""
        if self.dialect == "sqlite":
            moment = _NAIVE_EPOCH + timedelta(0, micros // 1_000_000, micros % 1_000_000)
            return moment.isoformat(" ", "microseconds")
        return _EPOCH + timedelta(0, micros // 1_000_000, micros % 1_000_000)


_new, _set = object.__new__, object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
US = 1_000_000  # microseconds in a second
DAY_US = 86_400 * US
HOUR_US = 3_600 * US


def micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


RECIPROCITY_EPOCH_US = micros(RECIPROCITY_EPOCH)


class UserData:
    """The rows of one generated user: deterministic for (seed, dataset, index, anchor)."""

    def __init__(
        self, dataset: Dataset, index: int, seed: int, anchor: datetime, dialect: str
    ) -> None:
        self.dataset = dataset
        self.index = index
        self.seed = seed
        self.anchor = micros(anchor)
        self.rng = random.Random(f"{seed}:{dataset.key}:{index}")
        self.enc = Encoding(dialect)
        self.owner = self.enc.uuid(user_id(seed, dataset, index).int)
        # A skewed spread of interactions over contacts: 3 % of contacts have none, a few
        # close ones have hundreds (the power user) or dozens (everyone else).
        d, rng = dataset, self.rng
        weights = [
            0.0 if rng.random() < 0.03 else rng.lognormvariate(0.0, 1.0)
            for _ in range(d.contacts_per_user)
        ]
        total = sum(weights)
        self.counts = [int(d.interactions_per_user * w / total) for w in weights]
        live = [i for i, w in enumerate(weights) if w > 0]
        for _ in range(d.interactions_per_user - sum(self.counts)):
            self.counts[live[int(rng.random() * len(live))]] += 1

    def _uuid(self) -> Any:
        return self.enc.uuid(self.rng.getrandbits(128))

    @property
    def batches(self) -> int:
        return -(-self.dataset.contacts_per_user // self.dataset.batch_contacts)

    def user(self) -> tuple[Any, ...]:
        created = self.enc.time(self.anchor - 1_200 * DAY_US)
        return (
            self.owner, user_email(self.dataset, self.index), PASSWORD_HASH,
            f"Bench user {self.index}", "UTC", created, created, 1, None, None,
        )  # fmt: skip

    def batch(self, number: int) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
        """The rows of one batch of contacts; batches are independent (own random stream),
        so that several processes can load one user."""
        self.rng = random.Random(f"{self.seed}:{self.dataset.key}:{self.index}:{number}")
        size = self.dataset.batch_contacts
        counts = self.counts[number * size : (number + 1) * size]
        contacts: list[tuple[Any, ...]] = []
        interactions: list[tuple[int, tuple[Any, ...]]] = []
        asks: list[tuple[Any, ...]] = []
        tasks: list[tuple[Any, ...]] = []
        for count in counts:
            self._contact(count, contacts, interactions, asks, tasks)
        interactions.sort(key=lambda pair: pair[0])  # written in the order they were logged
        yield "contacts", contacts
        yield "interactions", [row for _, row in interactions]
        yield "asks", asks
        yield "etiquette_tasks", tasks

    def _contact(
        self,
        count: int,
        contacts: list[tuple[Any, ...]],
        interactions: list[tuple[int, tuple[Any, ...]]],
        asks: list[tuple[Any, ...]],
        tasks: list[tuple[Any, ...]],
    ) -> None:
        rng, anchor, owner, t = self.rng, self.anchor, self.owner, self.enc.time
        r = rng.random
        contact_id = self._uuid()
        # Contacts were added over three years, more of them early on (an import, a job).
        created = anchor - int((1 + 1_094 * r() ** 0.7) * DAY_US)
        life = anchor - created
        name = f"{FIRST[int(r() * len(FIRST))]} {LAST[int(r() * len(LAST))]}"
        circle = CIRCLES[int(r() * len(CIRCLES))]
        cadence_days = CADENCE_CHOICES[int(r() * len(CADENCE_CHOICES))] if r() < 0.15 else None
        x = r()
        track = x >= 0.06
        snoozed = None
        if 0.06 <= x < 0.10:
            snoozed = t(anchor + int((1 + 60 * r()) * DAY_US))
        elif 0.10 <= x < 0.13:
            snoozed = t(anchor - int((1 + 200 * r()) * DAY_US))  # snoozed once, now past

        last: int | None = None
        thanked: tuple[Any, int, int] | None = None
        recent = anchor - RULE_TASKS_DAYS * DAY_US
        for _ in range(count):
            s = r()
            if s < 0.88:
                status = "completed"
                occurred = created + int(life * r())
            elif s < 0.94:
                status = "planned"
                if r() < 0.75:
                    occurred = anchor + HOUR_US + int(45 * DAY_US * r())
                else:
                    occurred = created + int(life * r())
            else:
                status = "cancelled"
                occurred = created + int(life * r())
            if occurred > anchor:
                logged = anchor - int(min(21 * DAY_US, life) * r())
            else:
                logged = min(anchor, occurred + int(36 * HOUR_US * r()))
            updated, version, deleted = logged, 1, None
            if status == "cancelled":
                updated, version = min(anchor, logged + int(5 * DAY_US * r())), 2
            if r() < 0.01:
                updated = deleted = min(anchor, updated + int(30 * DAY_US * r()))
                version += 1
            channel = CHANNELS[int(r() * len(CHANNELS))]
            kind = INTERACTION_KINDS[int(r() * len(INTERACTION_KINDS))]
            meeting = kind in MEETING_KINDS
            objective = (
                OBJECTIVES[int(r() * len(OBJECTIVES))] if r() < (0.65 if meeting else 0.1) else None
            )
            summary = (
                SUMMARIES[int(r() * len(SUMMARIES))]
                if status == "completed" and r() < 0.35
                else None
            )
            proposer = None
            if status == "planned" and meeting:
                p = r()
                proposer = "me" if p < 0.4 else "contact" if p < 0.8 else None
            interaction_id = self._uuid()
            logged_at = t(logged)
            if deleted is None and updated >= recent:
                # What the app's rules 1, 3 and 4 made when this was written.
                if status == "completed" and (channel in THANKED_CHANNELS or kind in THANKED_KINDS):
                    self._rule_task(
                        "rule1", "thank_you_note", f"Write a thank-you note to {name}",
                        interaction_id, contact_id, occurred + 48 * HOUR_US, logged, tasks,
                    )  # fmt: skip
                elif status == "planned" and meeting:
                    if proposer == "me":
                        self._rule_task(
                            "rule3", "confirm_meeting_time",
                            f"Check the meeting time suits {name}", interaction_id, contact_id,
                            max(occurred - 72 * HOUR_US, logged), logged, tasks,
                        )  # fmt: skip
                    if not objective:
                        self._rule_task(
                            "rule4", "set_objective",
                            f"Set an objective for your meeting with {name}", interaction_id,
                            contact_id, max(occurred - 24 * HOUR_US, logged), logged, tasks,
                        )  # fmt: skip
            interactions.append(
                (
                    logged,
                    (
                        interaction_id, owner, logged_at,
                        logged_at if updated == logged else t(updated), version,
                        None if deleted is None else t(deleted), SYNC_SEQ, contact_id,
                        channel, kind, status, t(occurred), objective, summary, proposer,
                    ),
                )
            )  # fmt: skip
            if status == "completed" and deleted is None:
                if last is None or occurred > last:
                    last = occurred
                if (
                    (channel in THANKED_CHANNELS or kind in THANKED_KINDS)
                    and logged < recent
                    and (thanked is None or occurred > thanked[1])
                ):
                    thanked = (interaction_id, occurred, logged)

        cadence = cadence_days or CIRCLE_CADENCE_DAYS[circle]
        due = (created if last is None else last) + cadence * DAY_US
        created_at = t(created)
        contacts.append(
            (
                contact_id, owner, created_at,
                created_at if last is None else t(max(created, last)), 1, None, SYNC_SEQ, name,
                f"{name.lower().replace(' ', '.')}@example.com" if r() < 0.7 else None,
                f"+1 202 555 {int(r() * 10_000):04d}" if r() < 0.4 else None,
                ORGANIZATIONS[int(r() * len(ORGANIZATIONS))] if r() < 0.6 else None,
                TITLES[int(r() * len(TITLES))] if r() < 0.5 else None,
                FIELDS[int(r() * len(FIELDS))] if r() < 0.5 else None,
                circle.value,
                HOW_MET[int(r() * len(HOW_MET))] if r() < 0.3 else None,
                json.dumps(rng.sample(TAGS, int(r() * 3.5))),
                "Prefers mornings; ask about the garden." if r() < 0.2 else None,
                ROLES[int(r() * len(ROLES))],
                json.dumps(rng.sample(ASK_KIND_NAMES, int(r() * 3.5))),
                cadence_days, track, snoozed, None if last is None else t(last), t(due),
            )
        )  # fmt: skip

        # The stored reciprocity (app/asks/balance.py) comes from the asks, made after the
        # contact's row so that the random stream, and so the data, is as before it existed.
        stored = self._asks(contact_id, name, created, life, asks, tasks)
        contacts[-1] += stored
        email, phone = contacts[-1][8], contacts[-1][9]
        contacts[-1] += (email_key(email), phone_key(phone))  # as app/contacts/keys.py keeps
        if r() < self.dataset.tasks_per_user / self.dataset.contacts_per_user:
            self._task(contact_id, name, thanked, tasks)

    def _asks(
        self,
        contact_id: Any,
        name: str,
        created: int,
        life: int,
        asks: list[tuple[Any, ...]],
        tasks: list[tuple[Any, ...]],
    ) -> tuple[Any, ...]:
        """The contact's asks; returns its stored reciprocity as app/asks/balance.py keeps it:
        (reciprocity_given, reciprocity_received, reciprocity_score, last_resolved_at)."""
        rng, anchor, owner, t = self.rng, self.anchor, self.owner, self.enc.time
        r = rng.random
        recent = anchor - RULE_TASKS_DAYS * DAY_US
        given = received = 0.0
        latest: int | None = None
        for _ in range(_poisson(rng, self.dataset.asks_per_contact)):
            asked = created + int(life * r())
            status = ASK_STATUSES[int(r() * len(ASK_STATUSES))]
            resolved = None
            if status in RESOLVED:
                resolved = min(anchor, asked + int(rng.expovariate(1 / 12) * DAY_US))
            due = asked + int((2 + 28 * r()) * DAY_US) if r() < 0.45 else None
            updated, version, deleted = resolved or asked, 2 if resolved else 1, None
            if r() < 0.01:
                updated = deleted = min(anchor, updated + int(30 * DAY_US * r()))
                version += 1
            ask_id = self._uuid()
            direction = "outgoing" if r() < 0.55 else "incoming"
            kind = ASK_KINDS[int(r() * len(ASK_KINDS))].value
            statement = STATEMENTS[int(r() * len(STATEMENTS))]
            researched = r() < 0.6
            effort = 1 + int(r() * 5) if r() < 0.2 else None
            asks.append(
                (
                    ask_id, owner, t(asked), t(updated), version,
                    None if deleted is None else t(deleted), SYNC_SEQ, contact_id, direction,
                    kind,
                    statement, researched, status, None if due is None else t(due),
                    None if resolved is None else t(resolved), effort,
                )
            )  # fmt: skip
            if status == "fulfilled" and deleted is None and resolved is not None:
                grown = (effort or KIND_WEIGHTS.get(kind, 1)) * 2.0 ** (
                    (resolved - RECIPROCITY_EPOCH_US) / DAY_US / HALF_LIFE_DAYS
                )
                if direction == "incoming":
                    given += grown
                else:
                    received += grown
                latest = resolved if latest is None else max(latest, resolved)
            if (
                resolved is not None
                and status == "fulfilled"
                and direction == "outgoing"
                and deleted is None
                and updated >= recent
            ):
                # What the app's rule 2 made when the ask was fulfilled.
                self._rule_task(
                    "rule2", "thank_you_note", f"Thank {name} for their help", ask_id,
                    contact_id, resolved + 48 * HOUR_US, resolved, tasks, by_ask=True,
                )  # fmt: skip
        if latest is None:
            return 0.0, 0.0, None, None
        total = given + received
        score = 0.0 if total == 0 else (given - received) / total
        return given, received, score, t(latest)

    def _rule_task(
        self,
        rule: str,
        kind: str,
        title: str,
        reference: Any,
        contact_id: Any,
        due: int,
        written: int,
        tasks: list[tuple[Any, ...]],
        *,
        by_ask: bool = False,
    ) -> None:
        """A task of rules 1–4, keyed as app/etiquette/rules.py keys it (`rule1:<uuid>`), so
        that the scheduler's re-check of recent records finds it there, as it would."""
        anchor, t, r = self.anchor, self.enc.time, self.rng.random
        x = r()
        if due > anchor:
            status = "pending"
        elif due > anchor - 7 * DAY_US:
            status = "pending" if x < 0.6 else "done" if x < 0.95 else "dismissed"
        else:
            status = "pending" if x < 0.15 else "done" if x < 0.85 else "dismissed"
        closed = None if status == "pending" else t(written + int((anchor - written) * r()))
        created_at = t(written)
        tasks.append(
            (
                self._uuid(), self.owner, created_at, closed or created_at, 2 if closed else 1,
                None, SYNC_SEQ, contact_id, kind, title[:200], t(due), status,
                closed if status == "done" else None, "user" if closed else None, closed,
                "rule", f"{rule}:{self.enc.uuid_text(reference)}",
                None if by_ask else reference, reference if by_ask else None,
            )
        )  # fmt: skip

    def _task(
        self,
        contact_id: Any,
        name: str,
        thanked: tuple[Any, int, int] | None,
        tasks: list[tuple[Any, ...]],
    ) -> None:
        rng, anchor, t = self.rng, self.anchor, self.enc.time
        r = rng.random
        status = TASK_STATUSES[int(r() * len(TASK_STATUSES))]
        if thanked is not None and r() < 0.7:
            interaction_id, occurred, logged = thanked
            kind, source = "thank_you_note", "rule"
            title = f"Write a thank-you note to {name}"[:200]
            due, created = occurred + 48 * HOUR_US, logged
            # Keyed as app/etiquette/rules.py keys rule 1: `rule1:<interaction uuid>`.
            rule_key: str | None = f"rule1:{self.enc.uuid_text(interaction_id)}"
            reference: Any = interaction_id
        else:
            kind, source = "custom", "manual"
            title = f"{CUSTOM_TASKS[int(r() * len(CUSTOM_TASKS))]} ({name})"[:200]
            created = anchor - int(60 * DAY_US * r())
            due = created + int((1 + 30 * r()) * DAY_US)
            rule_key, reference = None, None
        closed = None
        if status != "pending":
            closed = t(min(anchor, created + int(5 * DAY_US * r())))
        created_at = t(created)
        tasks.append(
            (
                self._uuid(), self.owner, created_at, closed or created_at, 2 if closed else 1,
                None, SYNC_SEQ, contact_id, kind, title, t(due), status,
                closed if status == "done" else None,
                "user" if closed else None, closed, source, rule_key, reference, None,
            )
        )  # fmt: skip


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


# ---------------------------------------------------------------------------------------------
# Sinks


class Target:
    """One database: made ready for a bulk load (foreign keys off, secondary indexes dropped),
    written by one or more writers, then finished (indexes rebuilt from their own definitions,
    tables analysed)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = dialect_of(url)
        self.indexes: list[str] = []

    @property
    def pg_url(self) -> str:
        return "postgresql://" + self.url.split("://", 1)[1]

    @property
    def sqlite_path(self) -> str:
        return self.url.split(":///", 1)[1]

    async def prepare(self) -> None:
        if self.dialect == "postgresql":
            import asyncpg

            conn = await asyncpg.connect(self.pg_url)
            try:
                if await conn.fetchval("SELECT count(*) FROM users"):
                    raise RuntimeError("the database already holds users: use an empty one")
                rows = await conn.fetch(
                    """
                    SELECT i.indexrelid::regclass::text AS name,
                           pg_get_indexdef(i.indexrelid) AS ddl
                    FROM pg_index i
                    WHERE i.indrelid::regclass::text = ANY($1::text[])
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                    """,
                    list(TABLES),
                )
                self.indexes = [row["ddl"] for row in rows]
                for row in rows:
                    await conn.execute(f'DROP INDEX "{row["name"]}"')
            finally:
                await conn.close()
            return
        conn = sqlite3.connect(self.sqlite_path, isolation_level=None)
        try:
            if conn.execute("SELECT count(*) FROM users").fetchone()[0]:
                raise RuntimeError("the database already holds users: use an empty one")
            marks = ",".join("?" * len(TABLES))
            found = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({marks})",
                TABLES,
            ).fetchall()
            self.indexes = [sql for _, sql in found]
            for name, _ in found:
                conn.execute(f'DROP INDEX "{name}"')
        finally:
            conn.close()

    async def finish(self) -> None:
        if self.dialect == "postgresql":
            import asyncpg

            conn = await asyncpg.connect(self.pg_url)
            try:
                await conn.execute("SET maintenance_work_mem = '1GB'")
                for ddl in self.indexes:
                    await conn.execute(ddl)
                # VACUUM as well as ANALYZE: it sets the visibility map (index-only scans), as
                # autovacuum does on a database in service, and keeps autovacuum from starting
                # in the middle of the measurements.
                for table in TABLES:
                    await conn.execute(f"VACUUM (ANALYZE) {table}")
                await conn.execute("CHECKPOINT")
            finally:
                await conn.close()
            return
        conn = sqlite3.connect(self.sqlite_path, isolation_level=None)
        try:
            conn.execute("PRAGMA cache_size=-524288")  # 512 MiB for the index builds
            for ddl in self.indexes:
                conn.execute(ddl)
            conn.execute("ANALYZE")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    async def writer(self) -> Writer:
        if self.dialect == "postgresql":
            return await PostgresWriter.open(self.pg_url)
        return SqliteWriter(self.sqlite_path)


class Writer:
    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None: ...
    async def close(self) -> None: ...


class PostgresWriter(Writer):
    """Binary COPY through asyncpg's `copy_records_to_table`."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @classmethod
    async def open(cls, url: str) -> PostgresWriter:
        import asyncpg

        conn = await asyncpg.connect(url)
        # The rows are consistent by construction: skip the per-row foreign-key triggers.
        await conn.execute("SET session_replication_role = replica")
        return cls(conn)

    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        await self.conn.copy_records_to_table(table, records=rows, columns=list(COLUMNS[table]))

    async def close(self) -> None:
        await self.conn.close()


class SqliteWriter(Writer):
    """`executemany`, one transaction per flush. Values come encoded as the app stores them
    (`Encoding`): uuids as 32 hex digits, times as naive UTC text, booleans as 0/1."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA foreign_keys=OFF")
        self.conn.execute("PRAGMA cache_size=-262144")  # 256 MiB while loading

    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        names = COLUMNS[table]
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        self.conn.execute("BEGIN")
        self.conn.executemany(sql, rows)
        self.conn.execute("COMMIT")

    async def close(self) -> None:
        self.conn.close()


# ---------------------------------------------------------------------------------------------
# Driver


@dataclass
class Generated:
    dataset: Dataset
    url: str
    anchor: datetime
    seed: int
    workers: int
    rows: dict[str, int]
    seconds: float
    load_seconds: float
    index_seconds: float
    user_ids: list[uuid.UUID]


def migrate(url: str) -> None:
    """`alembic upgrade head` (call outside a running event loop: env.py runs its own)."""
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def default_anchor() -> datetime:
    """Today at 00:00 UTC: the data's "now" (interactions happen up to it, plans after it)."""
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Job:
    url: str
    dataset: Dataset
    seed: int
    anchor: datetime
    worker: int
    workers: int
    flush_rows: int
    progress: bool


def _run_job(job: Job) -> dict[str, int]:
    """One writer's share of the (user, batch) units: every `workers`-th one."""
    return asyncio.run(_write(job))


async def _write(job: Job) -> dict[str, int]:
    d = job.dataset
    dialect = dialect_of(job.url)
    writer = await Target(job.url).writer()
    rows = dict.fromkeys(TABLES, 0)
    buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
    buffered = 0
    started = last_report = time.perf_counter()

    async def flush() -> None:
        nonlocal buffered
        for table in TABLES:
            if buffers[table]:
                await writer.write(table, buffers[table])
                rows[table] += len(buffers[table])
                buffers[table] = []
        buffered = 0

    try:
        data: UserData | None = None
        batches = -(-d.contacts_per_user // d.batch_contacts)
        for unit in range(job.worker, d.users * batches, job.workers):
            index, number = divmod(unit, batches)
            if data is None or data.index != index:
                data = UserData(d, index, job.seed, job.anchor, dialect)
            if number == 0:
                buffers["users"].append(data.user())
            for table, chunk in data.batch(number):
                buffers[table] += chunk
                buffered += len(chunk)
            if buffered >= job.flush_rows:
                await flush()
            now = time.perf_counter()
            if job.progress and job.worker == 0 and now - last_report > 20:
                last_report = now
                print(
                    f"    {d.key}: ~{rows['interactions'] * job.workers:,} of "
                    f"{d.interactions:,} interactions, {now - started:.0f} s",
                    flush=True,
                )
        await flush()
    finally:
        await writer.close()
    return rows


def generate(
    url: str,
    dataset: Dataset,
    *,
    seed: int = 1,
    anchor: datetime | None = None,
    workers: int | None = None,
    flush_rows: int = 200_000,
    progress: bool = True,
) -> Generated:
    """`alembic upgrade head` on the empty database at `url`, then load `dataset` into it.

    PostgreSQL is loaded by `workers` processes (default: one per core, at most 2), so that
    making rows in Python and ingesting them in PostgreSQL overlap; SQLite by one writer.
    Call outside a running event loop.
    """
    migrate(url)
    check_columns()
    anchor = anchor or default_anchor()
    target = Target(url)
    if target.dialect != "postgresql":
        workers = 1
    elif workers is None:
        workers = max(1, min(2, os.cpu_count() or 1))
    started = time.perf_counter()
    asyncio.run(target.prepare())
    jobs = [
        Job(url, dataset, seed, anchor, worker, workers, flush_rows, progress)
        for worker in range(workers)
    ]
    if workers == 1:
        results = [_run_job(jobs[0])]
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            results = list(pool.map(_run_job, jobs))
    loaded = time.perf_counter()
    asyncio.run(target.finish())
    done = time.perf_counter()
    return Generated(
        dataset=dataset,
        url=url,
        anchor=anchor,
        seed=seed,
        workers=workers,
        rows={t: sum(r[t] for r in results) for t in TABLES},
        seconds=done - started,
        load_seconds=loaded - started,
        index_seconds=done - loaded,
        user_ids=[user_id(seed, dataset, i) for i in range(dataset.users)],
    )


def verify(url: str) -> dict[str, int]:
    """Count the rows that break what the app maintains (all zero when the data is right):
    `last_contacted_at`, `follow_up_due_at`, the stored reciprocity, and the rule 1–4 tasks of
    the last week."""
    from sqlalchemy import case, func, or_, select
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlmodel import col
    from sqlmodel.ext.asyncio.session import AsyncSession

    from app.asks.balance import EPOCH
    from app.asks.models import Ask
    from app.contacts.models import Contact
    from app.core.config import async_url
    from app.core.db import utcnow
    from app.core.sql import add_days, at, days_between, power
    from app.etiquette import rules
    from app.interactions.models import Interaction
    from app.scheduler.queries import cadence

    async def run() -> dict[str, int]:
        engine = create_async_engine(async_url(url))
        dialect = engine.dialect.name
        c, i = Contact, Interaction
        latest = (
            select(func.max(col(i.occurred_at)))
            .where(
                col(i.contact_id) == col(c.id),
                col(i.status) == "completed",
                col(i.deleted_at).is_(None),
            )
            .scalar_subquery()
        )
        due = add_days(
            func.coalesce(col(c.last_contacted_at), col(c.created_at)), cadence(), dialect
        )
        # The stored reciprocity, recomputed as app/asks/balance.py `refresh` does.
        a = Ask
        fulfilled = (
            col(a.contact_id) == col(c.id),
            col(a.status) == "fulfilled",
            col(a.deleted_at).is_(None),
        )
        weight = func.coalesce(col(a.effort), case(KIND_WEIGHTS, value=col(a.kind), else_=1))
        grown = weight * power(
            2.0, days_between(col(a.resolved_at), at(EPOCH, "epoch"), dialect) / HALF_LIFE_DAYS,
            dialect,
        )  # fmt: skip

        def summed(direction: str) -> Any:
            return func.coalesce(
                select(func.sum(grown))
                .where(*fulfilled, col(a.direction) == direction)
                .scalar_subquery(),
                0.0,
            )

        def off(stored: Any, direction: str) -> Any:
            return func.abs(stored - summed(direction)) > 1e-6 * func.abs(stored) + 1e-9

        latest_resolved = select(func.max(col(a.resolved_at))).where(*fulfilled).scalar_subquery()
        out: dict[str, int] = {}
        try:
            async with engine.connect() as conn:
                out["contacts with a wrong last_contacted_at"] = (
                    await conn.execute(
                        select(func.count()).where(
                            col(c.last_contacted_at).is_distinct_from(latest)
                        )
                    )
                ).scalar_one()
                out["contacts with a wrong follow_up_due_at"] = (
                    await conn.execute(
                        select(func.count()).where(col(c.follow_up_due_at).is_distinct_from(due))
                    )
                ).scalar_one()
                out["contacts with a wrong stored reciprocity"] = (
                    await conn.execute(
                        select(func.count()).where(
                            or_(
                                off(col(c.reciprocity_given), "incoming"),
                                off(col(c.reciprocity_received), "outgoing"),
                                col(c.last_resolved_at).is_distinct_from(latest_resolved),
                                col(c.reciprocity_score).is_(None)
                                != col(c.last_resolved_at).is_(None),
                            )
                        )
                    )
                ).scalar_one()
                async with AsyncSession(bind=conn) as session:
                    now = utcnow()
                    out["rule 1–4 tasks the scheduler would add"] = await rules.reconcile(
                        session, lambda column: column.is_not(None), now - timedelta(days=7), now
                    )
                    await session.rollback()
        finally:
            await engine.dispose()
        return out

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="postgresql://… or sqlite:///path")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default=POWER_USER.key)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument(
        "--verify", action="store_true", help="then check the maintained columns (slow at scale)"
    )
    args = parser.parse_args()
    dataset = DATASETS[args.dataset].scaled(args.scale)
    result = generate(args.url, dataset, seed=args.seed, workers=args.workers)
    print(
        f"{dataset.key}: {result.rows} in {result.seconds:.1f} s with {result.workers} "
        f"writer(s) (load {result.load_seconds:.1f} s, indexes and analyse "
        f"{result.index_seconds:.1f} s)"
    )
    if args.verify:
        for what, count in verify(args.url).items():
            print(f"{what}: {count}")


if __name__ == "__main__":
    main()
