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

# The head part of publishing.search.REFRESH_SQL, for every row (the excerpt bounded as it bounds it).
FILL = """
UPDATE publishing_post AS p SET search_head =
    setweight(to_tsvector('english', coalesce(p.title, '')), 'A')
    || setweight(to_tsvector('english', left(coalesce(p.excerpt, ''), 10000) || ' ' || coalesce((
        SELECT string_agg(t.name, ' ') FROM publishing_post_tags pt
        JOIN publishing_tag t ON t.id = pt.tag_id WHERE pt.post_id = p.id), '')), 'B')
"""
STATISTICS = "ALTER TABLE publishing_post ALTER COLUMN search_vector SET STATISTICS 1000"
STATISTICS_REVERSE = "ALTER TABLE publishing_post ALTER COLUMN search_vector SET STATISTICS -1"


class Migration(migrations.Migration):

    dependencies = [
        ('publishing', '0006_post_body_without_title'),
    ]

    operations = [
        migrations.AddField(
            model_name='post',
            name='search_head',
            field=django.contrib.postgres.search.SearchVectorField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name='post',
            index=django.contrib.postgres.indexes.GinIndex(fields=['search_head'], name='post_search_head'),
        ),
        migrations.RunSQL(STATISTICS, STATISTICS_REVERSE),
    ]
