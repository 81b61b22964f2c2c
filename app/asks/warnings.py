"""Etiquette warnings on outgoing asks, from "How do you network?". They never block an ask."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from app.asks.models import Ask, Direction, EtiquetteWarning, WarningCode
from app.asks.repository import AskRepository
from app.contacts.repository import ContactRepository
from app.core.db import utcnow
from app.core.vocabulary import AskKind

# How a kind reads in a sentence: "comfortable helping with a referral".
_KIND_PHRASES = {
    AskKind.information.value: "information",
    AskKind.advice.value: "advice",
    AskKind.feedback.value: "feedback",
    AskKind.referral.value: "a referral",
    AskKind.introduction.value: "an introduction",
    AskKind.mentorship.value: "mentorship",
    AskKind.support.value: "support",
    AskKind.job.value: "a job",
    AskKind.other.value: "this kind of request",
}


def _warning(code: WarningCode, message: str) -> EtiquetteWarning:
    return EtiquetteWarning(code=code, message=message)


async def warnings_for(
    session: AsyncSession, owner_id: uuid.UUID, asks: list[Ask]
) -> dict[uuid.UUID, list[EtiquetteWarning]]:
    """The warnings of each ask, with a fixed number of queries for the whole batch."""
    result: dict[uuid.UUID, list[EtiquetteWarning]] = {ask.id: [] for ask in asks}
    outgoing = [a for a in asks if a.direction == Direction.outgoing.value]
    if not outgoing:
        return result
    contact_ids = {a.contact_id for a in outgoing}
    contacts = await ContactRepository(session, owner_id).get_many(contact_ids)
    repo = AskRepository(session, owner_id)
    open_asks = await repo.open_outgoing(contact_ids)
    balances = await repo.balances(contact_ids, utcnow())

    for ask in outgoing:
        contact = contacts.get(ask.contact_id)
        name = contact.full_name if contact else "this contact"
        found = result[ask.id]
        if ask.kind == AskKind.job.value:
            found.append(_warning(
                WarningCode.ask_for_job,
                "Asking for a job puts people on the spot. Seek advice, information or "
                "feedback instead; opportunities follow from those.",
            ))  # fmt: skip
        if contact is not None and contact.open_to and ask.kind not in contact.open_to:
            found.append(_warning(
                WarningCode.outside_comfort,
                f"{name} has not said they are comfortable helping with "
                f"{_KIND_PHRASES[ask.kind]}. "
                "Ask only for what a person is comfortable to give.",
            ))  # fmt: skip
        if ask.kind == AskKind.information.value and not ask.researched:
            found.append(_warning(
                WarningCode.not_researched,
                "Check that this cannot be found through your own research before asking.",
            ))  # fmt: skip
        if open_asks.get(ask.contact_id, set()) - {ask.id}:
            found.append(_warning(
                WarningCode.pending_ask,
                f"You already have an open ask with {name}. Give it time before asking again.",
            ))  # fmt: skip
        if balances[ask.contact_id].stance == "taking":
            found.append(_warning(
                WarningCode.reciprocity_imbalance,
                f"{name} has given you more help than you have given back. Networking is a "
                "two-way street: look for a way to help them.",
            ))  # fmt: skip
    return result
