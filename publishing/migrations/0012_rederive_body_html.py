"""Derive the stored body of posts made from a task again.

`derive_body_html` now drops the space before a citation link it removes (the links to the
editor's private notes): posts published before it read "hard work ." where they now read "hard
work.". The body is derived, never edited (`Post.save`), so deriving it again loses nothing.
"""

from django.db import migrations


def rederive(apps, schema_editor):
    from publishing.models.posts import derive_body_html

    Post = apps.get_model("publishing", "Post")
    posts = Post.objects.filter(version__isnull=False).exclude(version__body_html="")
    for post in posts.select_related("version").only("pk", "body", "body_html", "sources", "version__body_html").iterator(
        chunk_size=500
    ):
        body_html = derive_body_html(body=post.body, formatted=post.version.body_html, sources=post.sources)
        if body_html != post.body_html:
            Post.objects.filter(pk=post.pk).update(body_html=body_html)


class Migration(migrations.Migration):

    dependencies = [
        ("publishing", "0011_slugs_in_any_script"),
    ]

    operations = [
        migrations.RunPython(rederive, migrations.RunPython.noop),
    ]
