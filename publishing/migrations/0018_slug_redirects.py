"""Old addresses of posts, categories and tags (`SlugRedirect`); Editors see them, Reviewers may
delete one (`publishing.roles`, re-synced here)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def sync_groups(apps, schema_editor):
    from importlib import import_module

    import_module("publishing.migrations.0002_editorial_groups").create_groups(apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('publishing', '0017_post_body_text'),
    ]

    operations = [
        migrations.CreateModel(
            name='SlugRedirect',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(allow_unicode=True, max_length=200)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('category', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='old_slugs', to='publishing.category')),
                ('post', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='old_slugs', to='publishing.post')),
                ('tag', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='old_slugs', to='publishing.tag')),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('category__isnull', True), ('post__isnull', False), ('tag__isnull', True)), models.Q(('category__isnull', False), ('post__isnull', True), ('tag__isnull', True)), models.Q(('category__isnull', True), ('post__isnull', True), ('tag__isnull', False)), _connector='OR'), name='slug_redirect_one_target'), models.UniqueConstraint(condition=models.Q(('post__isnull', False)), fields=('slug',), name='slug_redirect_post_unique'), models.UniqueConstraint(condition=models.Q(('category__isnull', False)), fields=('slug',), name='slug_redirect_category_unique'), models.UniqueConstraint(condition=models.Q(('tag__isnull', False)), fields=('slug',), name='slug_redirect_tag_unique')],
            },
        ),
        migrations.RunPython(sync_groups, migrations.RunPython.noop),
    ]
