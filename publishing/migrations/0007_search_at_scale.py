"""Search at scale: a small "head" vector (title A, excerpt and tags B) in a GIN index of its own.

Ranking every post that contains a very common word means reading every full vector (kept out of
line, compressed, since bodies are long); the head vector stays in the row and is cheap to match
and rank, so `publishing.search` finds title and excerpt matches there. The full vector's
statistics target is raised so the planner's estimate of how many posts a word matches (which
`publishing.search` uses to choose between exact and bounded ranking) covers more of the
vocabulary than the default hundred-odd commonest lexemes."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations

from tasks.online_migrations import create_index_concurrently, fill_in_batches

# The head part of publishing.search.REFRESH_SQL, for every row (the excerpt bounded as it bounds it).
HEAD = """search_head =
    setweight(to_tsvector('english', coalesce(p.title, '')), 'A')
    || setweight(to_tsvector('english', left(coalesce(p.excerpt, ''), 10000) || ' ' || coalesce((
        SELECT string_agg(t.name, ' ') FROM publishing_post_tags pt
        JOIN publishing_tag t ON t.id = pt.tag_id WHERE pt.post_id = p.id), '')), 'B')
"""
STATISTICS = "ALTER TABLE publishing_post ALTER COLUMN search_vector SET STATISTICS 1000"
STATISTICS_REVERSE = "ALTER TABLE publishing_post ALTER COLUMN search_vector SET STATISTICS -1"


def fill(apps, schema_editor):
    fill_in_batches(schema_editor, table="publishing_post", assignments=HEAD)


def search_head_index(apps, schema_editor):
    create_index_concurrently(schema_editor, name="post_search_head",
                              definition="ON publishing_post USING gin (search_head)")


class Migration(migrations.Migration):
    # Run beside the serving site, as 0005: in one transaction the blog could not read a post for
    # 24 s at 100,000 posts (docs/reliability.md row 33). Each step can run again after a stop.
    atomic = False

    dependencies = [
        ('publishing', '0006_post_body_without_title'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name='post',
                    name='search_head',
                    field=django.contrib.postgres.search.SearchVectorField(blank=True, editable=False, null=True),
                ),
            ],
            database_operations=[
                migrations.RunSQL("ALTER TABLE publishing_post ADD COLUMN IF NOT EXISTS search_head tsvector NULL",
                                  "ALTER TABLE publishing_post DROP COLUMN IF EXISTS search_head"),
            ],
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name='post',
                    index=django.contrib.postgres.indexes.GinIndex(fields=['search_head'], name='post_search_head'),
                ),
            ],
            database_operations=[
                migrations.RunPython(search_head_index, migrations.RunPython.noop),
                migrations.RunSQL(migrations.RunSQL.noop, "DROP INDEX CONCURRENTLY IF EXISTS post_search_head"),
            ],
        ),
        migrations.RunSQL(STATISTICS, STATISTICS_REVERSE),
    ]
