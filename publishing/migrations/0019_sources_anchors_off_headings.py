"""Derive again the body of posts that have a heading holding one of the Sources list's anchors.

Versions formatted before the format stage kept `#sources` and `#source-n` for the Sources list
gave an article's own "Sources" heading `id="sources"`, which the post page's list of sources has
too: two elements with one id, and the contents' "Sources" link landed on the article's section.
`derive_body_html` now moves such a heading to `#sources-2` (versions are never edited). Only
those posts are read (a regular expression over the stored HTML), each derived again in a
transaction of its own with its row locked, so a post saved meanwhile is not overwritten. The body
is derived, never edited (`Post.save`), so deriving it again loses nothing.
"""

from django.db import migrations, transaction

HEADING_WITH_A_SOURCES_ANCHOR = r'<h[23][^>]*\sid="(sources|source-[0-9]+)"'


def derive_again(apps, schema_editor):
    from publishing.models.posts import derive_body_html

    Post = apps.get_model("publishing", "Post")
    candidates = Post.objects.filter(version__isnull=False, body_html__regex=HEADING_WITH_A_SOURCES_ANCHOR)
    for pk in list(candidates.values_list("pk", flat=True)):
        with transaction.atomic():
            post = (Post.objects.select_for_update(of=("self",)).select_related("version")
                    .only("pk", "body", "body_html", "sources", "version__body_html").get(pk=pk))
            formatted = post.version.body_html if post.version.body_html else ""
            body_html = derive_body_html(body=post.body, formatted=formatted, sources=post.sources)
            if body_html != post.body_html:
                Post.objects.filter(pk=pk).update(body_html=body_html)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("publishing", "0018_slug_redirects"),
    ]

    operations = [
        migrations.RunPython(derive_again, migrations.RunPython.noop),
    ]
