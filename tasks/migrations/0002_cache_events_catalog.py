"""Database-level guards and seed data for `tasks`.

- The shared cache table used when REDIS_URL is not set (throttles, idempotency keys). It is
  created unconditionally so switching Redis off later needs no extra step.
- Task events are append-only: a trigger rejects UPDATE (DELETE stays possible so that deleting
  a task removes its log).
- The model catalog's seed: the offline model (free, the default) and common hosted and local
  models at their public list prices (USD per million tokens, as published by each vendor).
"""

from decimal import Decimal

from django.db import migrations

from tasks.models.append_only import forbid_change_sql

EVENTS_FORWARD, EVENTS_REVERSE = forbid_change_sql("tasks_taskevent", operations="UPDATE")

CACHE_TABLE_FORWARD = """
    CREATE TABLE IF NOT EXISTS pressroom_cache (
        cache_key varchar(255) NOT NULL PRIMARY KEY,
        value text NOT NULL,
        expires timestamp with time zone NOT NULL
    );
    CREATE INDEX IF NOT EXISTS pressroom_cache_expires ON pressroom_cache (expires);
"""
CACHE_TABLE_REVERSE = "DROP TABLE IF EXISTS pressroom_cache;"

SEED_MODELS = [
    dict(key="offline", display_name="Offline writer (built in)", provider="offline", provider_model_id="offline",
         base_url="", api_key_env="", input_price_per_million=Decimal("0"), output_price_per_million=Decimal("0"),
         context_window=100_000, is_default=True),
    dict(key="gpt-4o-mini", display_name="OpenAI GPT-4o mini", provider="openai_compatible",
         provider_model_id="gpt-4o-mini", base_url="https://api.openai.com/v1", api_key_env="OPENAI_API_KEY",
         input_price_per_million=Decimal("0.15"), output_price_per_million=Decimal("0.60"), context_window=128_000),
    dict(key="gpt-4o", display_name="OpenAI GPT-4o", provider="openai_compatible", provider_model_id="gpt-4o",
         base_url="https://api.openai.com/v1", api_key_env="OPENAI_API_KEY",
         input_price_per_million=Decimal("2.50"), output_price_per_million=Decimal("10.00"), context_window=128_000),
    dict(key="claude-sonnet-4", display_name="Anthropic Claude Sonnet 4", provider="anthropic",
         provider_model_id="claude-sonnet-4-20250514", base_url="https://api.anthropic.com",
         api_key_env="ANTHROPIC_API_KEY", input_price_per_million=Decimal("3.00"),
         output_price_per_million=Decimal("15.00"), context_window=200_000),
    dict(key="claude-3-5-haiku", display_name="Anthropic Claude 3.5 Haiku", provider="anthropic",
         provider_model_id="claude-3-5-haiku-20241022", base_url="https://api.anthropic.com",
         api_key_env="ANTHROPIC_API_KEY", input_price_per_million=Decimal("0.80"),
         output_price_per_million=Decimal("4.00"), context_window=200_000),
    dict(key="ollama-llama3-1-8b", display_name="Llama 3.1 8B (local Ollama)", provider="openai_compatible",
         provider_model_id="llama3.1:8b", base_url="http://127.0.0.1:11434/v1", api_key_env="",
         input_price_per_million=Decimal("0"), output_price_per_million=Decimal("0"), context_window=131_072),
]


def seed_catalog(apps, schema_editor):
    ModelCatalogEntry = apps.get_model("tasks", "ModelCatalogEntry")
    for entry in SEED_MODELS:
        ModelCatalogEntry.objects.update_or_create(key=entry["key"], defaults=entry)


def unseed_catalog(apps, schema_editor):
    ModelCatalogEntry = apps.get_model("tasks", "ModelCatalogEntry")
    ModelCatalogEntry.objects.filter(key__in=[entry["key"] for entry in SEED_MODELS], tasks__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("tasks", "0001_initial")]

    operations = [
        migrations.RunSQL(CACHE_TABLE_FORWARD, CACHE_TABLE_REVERSE),
        migrations.RunSQL(EVENTS_FORWARD, EVENTS_REVERSE),
        migrations.RunPython(seed_catalog, unseed_catalog),
    ]
