"""Categories and tags are unique by name whatever its letter case.

Before, "Gardening" and "gardening" could both exist (one added in the admin, say, and one made by a
publication): the blog listed two categories of one name, and a publication looking its category up
by name (`name__iexact`) took either. Namesakes are merged first, then the database refuses new
ones (`publishing.models.posts.unique_name_whatever_its_case`).
"""

import django.db.models.functions.text
from django.db import connection, migrations, models, transaction
from django.db.models import Count
from django.db.models.functions import Upper


# `publishing.search.REFRESH_SQL` as it was at this migration (the body was then searched as
# Markdown; 0017 searches its readable text, a column this migration does not have yet).
REFRESH_SQL = """
UPDATE publishing_post AS p SET search_head = h.head,
    search_vector = h.head || setweight(to_tsvector('english', left(coalesce(p.body, ''), 150000)), 'C')
FROM (
    SELECT q.id, setweight(to_tsvector('english', coalesce(q.title, '')), 'A')
        || setweight(to_tsvector('english', left(coalesce(q.excerpt, ''), 10000) || ' ' || coalesce((
            SELECT string_agg(t.name, ' ') FROM publishing_post_tags pt
            JOIN publishing_tag t ON t.id = pt.tag_id WHERE pt.post_id = q.id), '')), 'B') AS head
    FROM publishing_post AS q WHERE q.id = ANY(%s::uuid[])
) AS h
WHERE p.id = h.id
"""


def _oldest(rows):
    """The oldest of namesakes, as far as it can be told: the ids are random and the rows carry no
    time, but a publication numbered a namesake's slug after the first one's (`_free_slug`:
    "gardening", then "gardening-2"), so the shortest slug, then the first in order, is kept. Its
    address, the one readers most likely know, keeps answering; the others' answer 404."""
    return min(rows, key=lambda row: (len(row.slug), row.slug))


def merge_namesakes(apps, schema_editor):
    """Merge the categories, and the tags, whose names are equal but for letter case into the oldest:
    its posts gain the others' posts (a post tagged with two namesakes keeps one tag), the others
    go, and the retagged posts' search vectors are rebuilt (they hold the tags' names)."""
    from publishing.caching import owed_bump_make

    Category = apps.get_model("publishing", "Category")
    Tag = apps.get_model("publishing", "Tag")
    Post = apps.get_model("publishing", "Post")
    Tagging = Post.tags.through
    merged, retagged = False, set()
    for model in (Category, Tag):
        named = model.objects.annotate(key=Upper("name"))
        keys = list(named.values("key").annotate(count=Count("pk")).filter(count__gt=1).values_list("key", flat=True))
        for key in keys:
            rows = list(named.filter(key=key))
            kept = _oldest(rows)
            others = [row.pk for row in rows if row.pk != kept.pk]
            if model is Category:
                Post.objects.filter(category_id__in=others).update(category_id=kept.pk)
                if not kept.description:
                    kept.description = next((row.description for row in rows if row.description), "")
                    kept.save(update_fields=["description"])
            else:
                posts = set(Tagging.objects.filter(tag_id__in=others).values_list("post_id", flat=True))
                Tagging.objects.bulk_create([Tagging(post_id=post, tag_id=kept.pk) for post in posts],
                                            ignore_conflicts=True)
                retagged |= posts
            model.objects.filter(pk__in=others).delete()
            merged = True
    if retagged:
        with connection.cursor() as cursor:
            cursor.execute(REFRESH_SQL, [[str(pk) for pk in retagged]])
    if merged:
        # Pages and ETags of the blog still show the merged rows; signals do not fire in migrations.
        transaction.on_commit(owed_bump_make)


class Migration(migrations.Migration):

    dependencies = [
        ('publishing', '0015_post_invariants'),
    ]

    operations = [
        migrations.RunPython(merge_namesakes, migrations.RunPython.noop),
        # The merge's foreign-key checks are deferred to the commit; PostgreSQL alters no table that
        # still owes some ("pending trigger events"), so they are made now.
        migrations.RunSQL("SET CONSTRAINTS ALL IMMEDIATE; SET CONSTRAINTS ALL DEFERRED;", migrations.RunSQL.noop),
        migrations.AlterField(
            model_name='category',
            name='name',
            field=models.CharField(max_length=100),
        ),
        migrations.AlterField(
            model_name='tag',
            name='name',
            field=models.CharField(max_length=50),
        ),
        migrations.AddConstraint(
            model_name='category',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Upper('name'), name='category_name_unique_any_case', violation_error_message='A category with this name already exists: names that differ only in letter case (“Gardening”, “gardening”) are the same category.'),
        ),
        migrations.AddConstraint(
            model_name='tag',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Upper('name'), name='tag_name_unique_any_case', violation_error_message='A tag with this name already exists: names that differ only in letter case (“Gardening”, “gardening”) are the same tag.'),
        ),
    ]
