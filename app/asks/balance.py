"""Each contact's reciprocity kept on the contact, so that reciprocity as of now is an index scan.

The decay factors out of the sum: for any fixed epoch E,
    Σ w × 0.5 ** ((T − r) / 365 d)  =  2 ** (−(T − E) / 365 d) × Σ w × 2 ** ((r − E) / 365 d).
Each contact stores the right-hand sums (per direction) and the latest `resolved_at` among its
fulfilled asks, rewritten under the contact's row lock by every ask write that can change them.
For any T at or after that latest time, given and received are the stored sums times one
factor, and the score does not depend on T at all, so it is stored and indexed too. Earlier T
fall back to summing the asks (`repository.balances`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.asks.models import Ask, AskStatus, Direction
from app.asks.reciprocity import HALF_LIFE_DAYS, KIND_WEIGHTS, Balance
from app.contacts.models import Contact
from app.core.db import session_dialect
from app.core.sql import at, const, days_between, power

# Resolution times are set by the server, so they sit within decades of this: the stored sums
# stay far from overflow (2 ** 27 for 2026).
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def scale(as_of: datetime) -> float:
    """What the stored sums are multiplied by to give the decayed sums as of `as_of`."""
    return float(0.5 ** (((as_of - EPOCH) / timedelta(days=1)) / HALF_LIFE_DAYS))


def stored(contact: Contact, as_of: datetime) -> Balance | None:
    """The contact's balance as of `as_of` from its stored sums, or None if they don't apply."""
    if contact.last_resolved_at is not None and contact.last_resolved_at > as_of:
        return None
    factor = scale(as_of)
    return Balance(contact.reciprocity_given * factor, contact.reciprocity_received * factor)


async def refresh(session: AsyncSession, contact: Contact) -> None:
    """Recompute the contact's stored sums from its fulfilled asks. The caller holds its lock."""
    dialect = session_dialect(session)
    weight = func.coalesce(col(Ask.effort), case(KIND_WEIGHTS, value=col(Ask.kind), else_=1))
    grown = weight * power(
        2.0, days_between(col(Ask.resolved_at), at(EPOCH, "epoch"), dialect) / HALF_LIFE_DAYS,
        dialect,
    )  # fmt: skip
    incoming = col(Ask.direction) == Direction.incoming.value
    stmt = sa_select(
        func.sum(case((incoming, grown), else_=0.0)),
        func.sum(case((incoming, 0.0), else_=grown)),
        func.max(col(Ask.resolved_at)),
    ).where(
        col(Ask.contact_id) == contact.id,
        col(Ask.status) == const(AskStatus.fulfilled.value),
        col(Ask.deleted_at).is_(None),
    )
    given, received, latest = (await session.exec(stmt)).one()  # type: ignore[call-overload]
    balance = Balance(float(given or 0.0), float(received or 0.0))
    contact.reciprocity_given = balance.given
    contact.reciprocity_received = balance.received
    contact.reciprocity_score = balance.score if latest is not None else None
    contact.last_resolved_at = latest
    session.add(contact)
    await session.flush()
