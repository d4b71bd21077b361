"""Full-text search: a weighted search vector on posts (GIN), pg_trgm for title suggestions.

pg_trgm is a contrib extension: Debian's and most servers ship it, the embedded development server
(pgserver) does not. It and its title index are created only where the server has it;
`publishing.search.suggest_titles` falls back to comparing titles in Python otherwise."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations

from tasks.online_migrations import create_index_concurrently, fill_in_batches

# The expression of publishing.search.REFRESH_SQL, for every row (bounded as it bounds them:
# SEARCHED_BODY_CHARS, SEARCHED_EXCERPT_CHARS).
VECTOR = """search_vector =
    setweight(to_tsvector('english', coalesce(p.title, '')), 'A')
    || setweight(to_tsvector('english', left(coalesce(p.excerpt, ''), 10000) || ' ' || coalesce((
        SELECT string_agg(t.name, ' ') FROM publishing_post_tags pt
        JOIN publishing_tag t ON t.id = pt.tag_id WHERE pt.post_id = p.id), '')), 'B')
    || setweight(to_tsvector('english', left(coalesce(p.body, ''), 150000)), 'C')
"""


def fill(apps, schema_editor):
    fill_in_batches(schema_editor, table="publishing_post", assignments=VECTOR)


def search_vector_index(apps, schema_editor):
    create_index_concurrently(schema_editor, name="post_search_vector",
                              definition="ON publishing_post USING gin (search_vector)")


def trigram_where_available(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            return
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    create_index_concurrently(schema_editor, name="post_title_trgm",
                              definition="ON publishing_post USING gin (title gin_trgm_ops)")


class Migration(migrations.Migration):
    # Run beside the serving site: the column is added on its own, filled a thousand posts per
    # transaction and indexed concurrently. In one transaction, as first written, the blog could
    # not read a post until every vector was computed and indexed (38 s at 100,000 posts,
    # docs/reliability.md row 33). Each step can run again after a stop midway.
    atomic = False

    dependencies = [
        ('content', '0005_version_is_outline'),
        ('publishing', '0004_post_publication_fields_and_changes'),
        ('tasks', '0005_revision_rounds_and_event_kinds'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name='post',
                    name='search_vector',
                    field=django.contrib.postgres.search.SearchVectorField(blank=True, editable=False, null=True),
                ),
            ],
            database_operations=[
                migrations.RunSQL("ALTER TABLE publishing_post ADD COLUMN IF NOT EXISTS search_vector tsvector NULL",
                                  "ALTER TABLE publishing_post DROP COLUMN IF EXISTS search_vector"),
            ],
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name='post',
                    index=django.contrib.postgres.indexes.GinIndex(fields=['search_vector'], name='post_search_vector'),
                ),
            ],
            database_operations=[
                migrations.RunPython(search_vector_index, migrations.RunPython.noop),
                migrations.RunSQL(migrations.RunSQL.noop, "DROP INDEX CONCURRENTLY IF EXISTS post_search_vector"),
            ],
        ),
        migrations.RunPython(trigram_where_available, migrations.RunPython.noop),
        migrations.RunSQL(migrations.RunSQL.noop, "DROP INDEX CONCURRENTLY IF EXISTS post_title_trgm"),
    ]
