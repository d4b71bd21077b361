"""Full-text search: a weighted search vector on posts (GIN), pg_trgm for title suggestions."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

# The expression of publishing.search.REFRESH_SQL, for every row.
FILL = """
UPDATE publishing_post AS p SET search_vector =
    setweight(to_tsvector('english', coalesce(p.title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(p.excerpt, '') || ' ' || coalesce((
        SELECT string_agg(t.name, ' ') FROM publishing_post_tags pt
        JOIN publishing_tag t ON t.id = pt.tag_id WHERE pt.post_id = p.id), '')), 'B')
    || setweight(to_tsvector('english', coalesce(p.body, '')), 'C')
"""


class Migration(migrations.Migration):

    dependencies = [
        ('content', '0005_version_is_outline'),
        ('publishing', '0004_post_publication_fields_and_changes'),
        ('tasks', '0005_revision_rounds_and_event_kinds'),
    ]

    operations = [
        TrigramExtension(),
        migrations.AddField(
            model_name='post',
            name='search_vector',
            field=django.contrib.postgres.search.SearchVectorField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name='post',
            index=django.contrib.postgres.indexes.GinIndex(fields=['search_vector'], name='post_search_vector'),
        ),
        migrations.AddIndex(
            model_name='post',
            index=django.contrib.postgres.indexes.GinIndex(fields=['title'], name='post_title_trgm', opclasses=['gin_trgm_ops']),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
