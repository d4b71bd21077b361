from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "tasks"
    verbose_name = "Tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from tasks.jobs import on_worker_spawn

        post_spawn.connect(on_worker_spawn, dispatch_uid="pressroom-reconcile-on-spawn")
