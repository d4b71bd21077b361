"""The lifecycle of API tokens: a user's refresh tokens end when their password changes, when
they are deactivated, and when they log out everywhere.

Access tokens need no list: they carry a hash of the password hash (simplejwt's
`CHECK_REVOKE_TOKEN`), so a new password ends them at once, and simplejwt refuses any token of an
inactive user (`CHECK_USER_IS_ACTIVE`). Refresh tokens are blacklisted here, whoever saves the user
(admin, API, `changepassword`, a script), as long as it goes through `User.save()`.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

User = get_user_model()


def revoke_refresh_tokens(user) -> int:
    """Blacklist every unexpired refresh token issued to `user`; returns how many were still live."""
    live = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True)
    return len(BlacklistedToken.objects.bulk_create([BlacklistedToken(token=token) for token in live]))


@receiver(pre_save, sender=User, dispatch_uid="pressroom-tokens-note-credential-change")
def _note_credential_change(sender, instance, update_fields=None, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # e.g. last_login after each sign-in
    before = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    instance._pressroom_revoke_tokens = bool(before) and (
        before["password"] != instance.password or (before["is_active"] and not instance.is_active)
    )


@receiver(post_save, sender=User, dispatch_uid="pressroom-tokens-revoke-on-credential-change")
def _revoke_on_credential_change(sender, instance, raw=False, **kwargs):
    if not raw and getattr(instance, "_pressroom_revoke_tokens", False):
        instance._pressroom_revoke_tokens = False
        revoke_refresh_tokens(instance)


def expired_tokens_flush() -> int:
    """Delete the refresh tokens that have expired (and their blacklist entries), as simplejwt's
    `flushexpiredtokens` does: an expired token is refused whether it is listed or not, and the
    lists would otherwise grow by every sign-in. Returns how many were deleted."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
