"""The catalog refuses unusable base URLs: only http(s), and an OpenAI-compatible entry must have one.

An OpenAI-compatible entry saved earlier without a base URL could never run (every task on it
failed after its retries); it gets OpenAI's API root, the server such an entry can only have
meant. An entry with another scheme (ftp://) stops the migration with its key, to be fixed by hand.
"""

import django.core.validators
from django.db import migrations, models

OPENAI_API_ROOT = "https://api.openai.com/v1"


def mend_base_urls(apps, schema_editor):
    ModelCatalogEntry = apps.get_model("tasks", "ModelCatalogEntry")
    ModelCatalogEntry.objects.filter(provider="openai_compatible", base_url="").update(base_url=OPENAI_API_ROOT)
    unusable = list(
        ModelCatalogEntry.objects.exclude(base_url="").exclude(base_url__regex=r"^https?://[^/?#\s]+")
        .values_list("key", flat=True)
    )
    if unusable:
        raise RuntimeError(f"Catalog entries with a base URL that is not http(s): {', '.join(unusable)}; fix them first.")


class Migration(migrations.Migration):

    dependencies = [
        ('tasks', '0005_revision_rounds_and_event_kinds'),
    ]

    operations = [
        migrations.RunPython(mend_base_urls, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='modelcatalogentry',
            name='base_url',
            field=models.URLField(blank=True, help_text="API root, e.g. `https://api.openai.com/v1` or Ollama's `/v1`. Required for OpenAI-compatible models; empty for Anthropic means `https://api.anthropic.com`.", max_length=300, validators=[django.core.validators.URLValidator(schemes=['http', 'https'])]),
        ),
        migrations.AddConstraint(
            model_name='modelcatalogentry',
            constraint=models.CheckConstraint(condition=models.Q(('base_url', ''), ('base_url__regex', '^https?://[^/?#\\s]+'), _connector='OR'), name='catalog_base_url_is_http'),
        ),
        migrations.AddConstraint(
            model_name='modelcatalogentry',
            constraint=models.CheckConstraint(condition=models.Q(('base_url', ''), ('provider', 'openai_compatible'), _negated=True), name='catalog_openai_compatible_has_base_url'),
        ),
    ]
