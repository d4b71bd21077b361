"""Posts keep their body's readable text (`body_text`), and every post's derived body is derived again.

Search snippets were cut from the Markdown `body` with regular expressions in SQL, which left
tables' pipes, quote marks, list markers, raw HTML tags and code in them; they are cut from
`body_text` now (`derive_body_text`, the one rule for a document's readable text). The search
vector reads `body_text` too (`publishing.search.REFRESH_SQL`), so every post's is built again: a
word of the Sources section, which may name the editor's private notes, found the post. `body_html` is
derived again for every post, hand-written ones too: the sanitizer now drops the `src` of an image
from another site, and posts saved before kept such images (a tracker in every feed reader and API
client). Deriving loses nothing: both columns are derived, never edited (`Post.save`).

Not atomic: rendering every post takes about 4 ms each, minutes at 100,000 posts, and one
transaction would hold the new column's table lock (no reads of the blog) that long. The column is
added in a statement of its own (`IF NOT EXISTS`, so that a run stopped midway can run again), then
posts are derived again 500 at a time, each batch in a transaction of its own with its rows locked,
so a post saved meanwhile is not overwritten with what its old body gave. Only changed rows are
written. The default `''` is in the database too: a process of the release before inserts posts
without the column (a post it saves while both releases run keeps its old `body_text` until it is
saved again; `derive_again` can be run again then).
"""

from django.db import migrations, models

from tasks.online_migrations import in_locked_batches

BATCH = 500
DERIVED = ("body_html", "body_text")


def derive_again(apps, schema_editor):
    from publishing.models.posts import derive_body_html, derive_body_text
    from publishing.search import refresh_search_vectors

    Post = apps.get_model("publishing", "Post")
    posts = (Post.objects.select_related("version").order_by("pk")
             .only("pk", "body", "body_html", "body_text", "sources", "version__body_html"))

    def derive_batch(batch):
        changed = []
        for post in batch:
            formatted = post.version.body_html if post.version and post.version.body_html else ""
            derived = {"body_html": derive_body_html(body=post.body, formatted=formatted, sources=post.sources),
                       "body_text": derive_body_text(post.body, formatted=formatted)}
            if any(getattr(post, field) != value for field, value in derived.items()):
                for field, value in derived.items():
                    setattr(post, field, value)
                changed.append(post)
        Post.objects.bulk_update(changed, DERIVED)
        # The body's part of the search vector is its readable text now, every post's.
        refresh_search_vectors([post.pk for post in batch])

    in_locked_batches(posts, derive_batch, size=BATCH)


class Migration(migrations.Migration):
    atomic = False  # see the docstring: each batch commits on its own

    dependencies = [
        ("publishing", "0016_case_insensitive_names"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="post",
                    name="body_text",
                    field=models.TextField(blank=True, db_default="", default="", editable=False, help_text="The body's readable text, for search snippets (see derive_body_text).", verbose_name="body (readable text)"),
                ),
            ],
            # What AddField writes (`sqlmigrate`), able to run again after a stop midway.
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE publishing_post ADD COLUMN IF NOT EXISTS body_text text DEFAULT '' NOT NULL",
                    reverse_sql="ALTER TABLE publishing_post DROP COLUMN IF EXISTS body_text",
                ),
            ],
        ),
        migrations.RunPython(derive_again, migrations.RunPython.noop),
    ]
