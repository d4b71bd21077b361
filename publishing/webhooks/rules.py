"""What a webhook subscription may hold, checked the same way by the admin form and the API.

Both raise Django's `ValidationError` with the message shown to the person who typed the value.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from tasks import url_guard
from tasks.exceptions import TransientError

SECRET_MIN_LENGTH = 16
SECRET_MAX_LENGTH = 200  # the column's


def delivery_url(url: str) -> str:
    """The outbound URL guard's rule, and its DNS lookup when the name resolves now: a name pointing
    at a private address is refused here already. A lookup that fails is not an error yet (the
    receiver may not be online); the guard runs again, with DNS, at every send."""
    try:
        url = url_guard.check_url(url or "")
        url_guard.public_addresses(url)
    except ValidationError as error:
        raise ValidationError(error.messages[0].replace("Refusing to fetch", "Refusing to deliver to")) from None
    except TransientError:
        pass
    return url


def signing_secret(secret: str) -> str:
    secret = (secret or "").strip()
    if len(secret) < SECRET_MIN_LENGTH:
        raise ValidationError(f"Use a secret of at least {SECRET_MIN_LENGTH} characters (or keep the generated one).")
    if len(secret) > SECRET_MAX_LENGTH:
        raise ValidationError(f"Use a secret of at most {SECRET_MAX_LENGTH} characters.")
    if not secret.isprintable() or any(character.isspace() for character in secret):
        raise ValidationError("The secret may hold printable characters only, without spaces.")
    return secret
