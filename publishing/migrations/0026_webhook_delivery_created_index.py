"""Webhook attempts newest first, the admin list's order, so a page of it no longer sorts every
attempt; built without locking the table against the deliveries' writes, as tasks 0008."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("publishing", "0025_foreign_key_index_covered"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="webhookdelivery",
            index=models.Index(fields=["-created_at", "-id"], name="webhook_delivery_created"),
        ),
    ]
