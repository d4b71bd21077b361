"""Derive the stored body of posts made from a task again.

`derive_body_html` now drops the space before a citation link it removes (the links to the
editor's private notes): posts published before it read "hard work ." where they now read "hard
work.". The body is derived, never edited (`Post.save`), so deriving it again loses nothing.

500 posts at a time, each batch in a transaction of its own with its rows locked (as 0017), so an
editor's save waits for one batch, not for every post's (docs/reliability.md row 33).
"""

from django.db import migrations

from tasks.online_migrations import in_locked_batches

BATCH = 500


def rederive(apps, schema_editor):
    from publishing.models.posts import derive_body_html

    Post = apps.get_model("publishing", "Post")
    posts = (Post.objects.filter(version__isnull=False).exclude(version__body_html="").select_related("version")
             .order_by("pk").only("pk", "body", "body_html", "sources", "version__body_html"))

    def rederive_batch(batch):
        for post in batch:
            body_html = derive_body_html(body=post.body, formatted=post.version.body_html, sources=post.sources)
            if body_html != post.body_html:
                Post.objects.filter(pk=post.pk).update(body_html=body_html)

    in_locked_batches(posts, rederive_batch, size=BATCH)


class Migration(migrations.Migration):
    atomic = False  # see the docstring: each batch commits on its own

    dependencies = [
        ("publishing", "0011_slugs_in_any_script"),
    ]

    operations = [
        migrations.RunPython(rederive, migrations.RunPython.noop),
    ]
