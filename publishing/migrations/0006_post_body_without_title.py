"""Re-derive every post's body_html by today's rule (`publishing.models.posts.derive_body_html`):
no leading `<h1>` repeating the title, no format-stage Sources list (the page lists the post's
public sources itself) and no citation links to sources it does not list. `updated_at` is left
alone: the text readers see is the same article.

500 posts at a time, each batch in a transaction of its own with its rows locked (as 0017): in one
transaction, every post it rewrote stayed locked until the last was done, and an editor's save
waited that long (99 s at 100,000 posts, docs/reliability.md row 33)."""

from django.db import migrations

from tasks.online_migrations import in_locked_batches

BATCH = 500


def rederive(apps, schema_editor):
    from publishing.models.posts import derive_body_html

    Post = apps.get_model("publishing", "Post")
    posts = Post.objects.select_related("version").order_by("pk").only(
        "id", "body", "body_html", "sources", "version__body_html")

    def rederive_batch(batch):
        for post in batch:
            formatted = post.version.body_html if post.version_id and post.version.body_html else ""
            body_html = derive_body_html(body=post.body, formatted=formatted, sources=post.sources)
            if body_html != post.body_html:
                Post.objects.filter(pk=post.pk).update(body_html=body_html)

    in_locked_batches(posts, rederive_batch, size=BATCH)


class Migration(migrations.Migration):
    atomic = False  # see the docstring: each batch commits on its own

    dependencies = [("publishing", "0005_post_search_vector")]

    operations = [migrations.RunPython(rederive, migrations.RunPython.noop)]
