from django.apps import AppConfig


class PressroomConfig(AppConfig):
    """The project package as an app, for its signal receivers; it has no models."""

    name = "config"
    label = "pressroom_config"
    verbose_name = "Pressroom"

    def ready(self) -> None:
        # Connects the receivers that end a user's tokens on password change and deactivation, and
        # registers the system checks of Pressroom's settings.
        from config import admin_axes, admin_users, checks, tokens  # noqa: F401

        admin_axes.register()  # axes' admin with its cleanup action mended (config/admin_axes.py)
        admin_users.register()  # auth's user admin, refusing addresses no mail header can carry
