"""Full-text search: a weighted search vector on posts (GIN), pg_trgm for title suggestions.

pg_trgm is a contrib extension: Debian's and most servers ship it, the embedded development server
(pgserver) does not. It and its title index are created only where the server has it;
`publishing.search.suggest_titles` falls back to comparing titles in Python otherwise."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations

# The expression of publishing.search.REFRESH_SQL, for every row (bounded as it bounds them:
# SEARCHED_BODY_CHARS, SEARCHED_EXCERPT_CHARS).
FILL = """
UPDATE publishing_post AS p SET search_vector =
    setweight(to_tsvector('english', coalesce(p.title, '')), 'A')
    || setweight(to_tsvector('english', left(coalesce(p.excerpt, ''), 10000) || ' ' || coalesce((
        SELECT string_agg(t.name, ' ') FROM publishing_post_tags pt
        JOIN publishing_tag t ON t.id = pt.tag_id WHERE pt.post_id = p.id), '')), 'B')
    || setweight(to_tsvector('english', left(coalesce(p.body, ''), 150000)), 'C')
"""


TRIGRAM_WHERE_AVAILABLE = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX IF NOT EXISTS post_title_trgm ON publishing_post USING gin (title gin_trgm_ops);
    END IF;
END $$;
"""
TRIGRAM_REVERSE = "DROP INDEX IF EXISTS post_title_trgm;"


class Migration(migrations.Migration):

    dependencies = [
        ('content', '0005_version_is_outline'),
        ('publishing', '0004_post_publication_fields_and_changes'),
        ('tasks', '0005_revision_rounds_and_event_kinds'),
    ]

    operations = [
        migrations.AddField(
            model_name='post',
            name='search_vector',
            field=django.contrib.postgres.search.SearchVectorField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name='post',
            index=django.contrib.postgres.indexes.GinIndex(fields=['search_vector'], name='post_search_vector'),
        ),
        migrations.RunSQL(TRIGRAM_WHERE_AVAILABLE, TRIGRAM_REVERSE),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
