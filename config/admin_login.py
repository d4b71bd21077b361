"""The admin's login form, with the username's length checked.

Django gives the username field its maximum (the user model's, 150) only after building the field,
so no validator checks it, and a longer name went on to the lockout's record of the attempt
(django-axes), whose column holds 255: a 500 instead of the form's error. The API's token form
checks the same length (`config.auth.TokenObtainInput`).
"""

from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.validators import MaxLengthValidator


class AdminLoginForm(AdminAuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))
