"""Whether an email address can go into a mail header: one rule for the admin's user form, which
refuses it, and for the notification digests, which skip it.

Django's `EmailValidator` accepts control characters inside a quoted local part
(`"a\\x0bBcc:victim@evil.example"@example.com`); Python's email package then turns them into line
breaks and refuses to write the header (`HeaderParseError`) at every send. Control characters are
`tasks.control_characters`' rule, the one URLs and `queue_status` follow too.
"""

from __future__ import annotations

from email.errors import HeaderParseError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail.message import sanitize_address

from tasks.control_characters import has_control_characters


def header_refusal(address: str) -> str:
    """Why `address` cannot be a mail header's recipient ("" when it can)."""
    if has_control_characters(address):
        return "An email address cannot contain control characters or line breaks."
    try:
        sanitize_address(address, settings.DEFAULT_CHARSET)
    except (HeaderParseError, ValueError, IndexError):
        return "This email address cannot be used in an email's header."
    return ""


def validate_header_safe_email(value: str) -> None:
    """A form field validator: `header_refusal` as a `ValidationError`."""
    refusal = header_refusal(value or "")
    if refusal:
        raise ValidationError(refusal, code="invalid")
