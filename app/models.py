"""Imports every table model, so that the metadata is complete (Alembic, tests)."""

from app.asks.models import Ask
from app.auth.models import LoginFailure, RefreshToken, User
from app.contacts.models import Contact
from app.core.idempotency import IdempotencyRecord
from app.etiquette.models import EtiquetteTask
from app.interactions.models import Interaction
from app.sync.clock import SyncClock

__all__ = [
    "Ask",
    "Contact",
    "EtiquetteTask",
    "IdempotencyRecord",
    "Interaction",
    "LoginFailure",
    "RefreshToken",
    "SyncClock",
    "User",
]
