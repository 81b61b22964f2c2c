"""Imports every table model, so that the metadata is complete (Alembic, tests)."""

from app.auth.models import LoginFailure, RefreshToken, User
from app.contacts.models import Contact
from app.core.idempotency import IdempotencyRecord

__all__ = ["Contact", "IdempotencyRecord", "LoginFailure", "RefreshToken", "User"]
