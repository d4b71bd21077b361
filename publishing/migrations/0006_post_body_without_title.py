"""Re-derive every post's body_html by today's rule (`publishing.models.posts.derive_body_html`):
no leading `<h1>` repeating the title, no format-stage Sources list (the page lists the post's
public sources itself) and no citation links to sources it does not list. `updated_at` is left
alone: the text readers see is the same article."""

from django.db import migrations


def rederive(apps, schema_editor):
    from publishing.models.posts import derive_body_html

    Post = apps.get_model("publishing", "Post")
    posts = Post.objects.select_related("version").only("id", "body", "body_html", "sources", "version__body_html")
    for post in posts.iterator():
        formatted = post.version.body_html if post.version_id and post.version.body_html else ""
        body_html = derive_body_html(body=post.body, formatted=formatted, sources=post.sources)
        if body_html != post.body_html:
            Post.objects.filter(pk=post.pk).update(body_html=body_html)


class Migration(migrations.Migration):
    dependencies = [("publishing", "0005_post_search_vector")]

    operations = [migrations.RunPython(rederive, migrations.RunPython.noop)]
