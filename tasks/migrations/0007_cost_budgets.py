"""Personal monthly cost budgets and the append-only record of their changes.

`tasks_costbudgetchange` refuses UPDATE and DELETE (a trigger): a budget's history is kept.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from tasks.models.append_only import forbid_change_sql

CHANGES_FORWARD, CHANGES_REVERSE = forbid_change_sql("tasks_costbudgetchange", operations="UPDATE OR DELETE")


class Migration(migrations.Migration):

    dependencies = [
        ('tasks', '0006_catalog_base_url_checks'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='CostBudget',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('monthly_limit', models.DecimalField(blank=True, decimal_places=2, help_text="What this user's tasks created in one calendar month may cost together; empty: no personal limit. 0 allows only free models.", max_digits=12, null=True, verbose_name='monthly limit (USD)')),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='cost_budget', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'cost budget',
                'constraints': [models.CheckConstraint(condition=models.Q(('monthly_limit__isnull', True), ('monthly_limit__gte', 0), _connector='OR'), name='cost_budget_limit_not_negative')],
            },
        ),
        migrations.CreateModel(
            name='CostBudgetChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('old_limit', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='old limit (USD)')),
                ('new_limit', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='new limit (USD)')),
                ('reason', models.CharField(blank=True, max_length=500)),
                ('changed_at', models.DateTimeField(auto_now_add=True)),
                ('changed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cost_budget_changes_made', to=settings.AUTH_USER_MODEL)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cost_budget_changes', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'cost budget change',
                'ordering': ['user', 'changed_at'],
                'indexes': [models.Index(fields=['user', 'changed_at'], name='budget_change_user_time')],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('old_limit__isnull', True), ('old_limit__gte', 0), _connector='OR'), models.Q(('new_limit__isnull', True), ('new_limit__gte', 0), _connector='OR')), name='cost_budget_change_limits_not_negative')],
            },
        ),
        migrations.RunSQL(CHANGES_FORWARD, CHANGES_REVERSE),
    ]
