"""Personal data of contacts (emails, phones): shown in full only with the pii:read scope.

Without it a caller still sees that a contact has an email or phone, and enough of it to tell
two apart (`j***@example.com`, `+62*******7890`), but cannot filter or search by them: a
filter would reveal the hidden value one guess at a time.
"""

from __future__ import annotations

PII_READ = "pii:read"


def mask_email(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(number: str) -> str:
    keep = 4 if len(number) > 7 else 2
    head = 3 if number.startswith("+") else 0
    return number[:head] + "*" * max(len(number) - head - keep, 0) + number[-keep:]
