"""The keys contacts are matched by on import: a normalised email and phone number.

Stored on each contact (`email_key`, `phone_key`, indexed) so that matching a file against a
large network is an index lookup, not a scan.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
import pytz


def email_key(email: str | None) -> str | None:
    """Case and surrounding space do not make another address."""
    if email is None:
        return None
    key = email.strip().lower()
    return key or None


@lru_cache(maxsize=512)
def region_for_timezone(timezone: str | None) -> str | None:
    """The country of an IANA time zone (`Europe/London` → `GB`), to read national numbers.

    None when the zone spans no single country (`UTC`)."""
    if not timezone:
        return None
    countries = [code for code, zones in pytz.country_timezones.items() if timezone in zones]
    return countries[0].upper() if len(countries) == 1 else None


def phone_key(phone: str | None, region: str | None = None) -> str | None:
    """E.164 when the number can be read (with `region` for national numbers), else its digits.

    `+44 20 7946 0958`, `+44 (0)20 7946 0958` and, for region GB, `020 7946 0958` share the key
    `+442079460958`."""
    if phone is None:
        return None
    text = phone.strip()
    if text.lower().startswith("tel:"):
        text = text[4:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    digits = "".join(ch for ch in text if ch.isdigit())
    return digits or None
