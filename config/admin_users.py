"""django.contrib.auth's user admin, whose form refuses an email address no mail header can carry
(`config.email_addresses`): Django's own validator accepts control characters in a quoted local
part, and such an address then made every notification digest to that user fail. Registered in
place of auth's own by `config.apps.PressroomConfig.ready`, after the admin has discovered every
app's admin module.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as AuthUserAdmin
from django.contrib.auth.forms import UserChangeForm as AuthUserChangeForm

from config.email_addresses import validate_header_safe_email


class UserChangeForm(AuthUserChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "email" in self.fields:
            self.fields["email"].validators.append(validate_header_safe_email)


class UserAdmin(AuthUserAdmin):
    form = UserChangeForm


def register() -> None:
    User = get_user_model()
    if admin.site.is_registered(User) and not isinstance(admin.site.get_model_admin(User), UserAdmin):
        admin.site.unregister(User)
        admin.site.register(User, UserAdmin)
