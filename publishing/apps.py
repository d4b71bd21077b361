from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "publishing"
    verbose_name = "Publishing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Connects the receiver that unpublishes a post when its task's approval is revoked.
        from publishing.services import posts  # noqa: F401
        # Connects the receivers that start a new blog version when posts, categories or tags change.
        from publishing import caching  # noqa: F401
        # Connects the one receiver of task_state_changed that records webhook deliveries and notifications.
        from publishing.webhooks import receivers  # noqa: F401
