"""A webhook delivery's subscription loses its single-column index, which webhook_delivery_recent
(subscription, -created_at) already covers (as tasks 0016). Dropped concurrently."""

import django.db.models.deletion
from django.db import migrations, models

from config.postgresql.operations import foreign_key_index_dropped


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("publishing", "0024_sync_groups_slug_redirects_again"),
    ]

    operations = [
        foreign_key_index_dropped(
            migrations.AlterField(
                model_name="webhookdelivery",
                name="subscription",
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                        related_name="deliveries", to="publishing.webhooksubscription"),
            ),
            table="publishing_webhookdelivery", column="subscription_id",
            index="publishing_webhookdelivery_subscription_id_456fc5e5",
        ),
    ]
