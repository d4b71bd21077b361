"""Append-only rows: inserted once, never updated or deleted by the application.

The ORM refuses `save()` of an existing row, `delete()` and queryset `update()`/`delete()`;
the database refuses UPDATE and DELETE with a trigger (`forbid_change_sql`), so even raw SQL or a
forgotten code path cannot rewrite history. Cascades from a parent are the only deletion path,
and only where a model's migration leaves DELETE allowed.
"""

from __future__ import annotations

from django.db import models

from tasks.exceptions import AppendOnlyViolation


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyViolation(f"{self.model._meta.verbose_name_plural} are append-only: no updates.")

    def delete(self):
        raise AppendOnlyViolation(f"{self.model._meta.verbose_name_plural} are append-only: no deletions.")

    update.queryset_only = True
    delete.queryset_only = True


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyViolation(f"This {self._meta.verbose_name} is append-only: it cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyViolation(f"This {self._meta.verbose_name} is append-only: it cannot be deleted.")


def forbid_change_sql(table: str, *, operations: str = "UPDATE OR DELETE") -> tuple[str, str]:
    """SQL (forward, reverse) installing a trigger that rejects `operations` on `table`."""
    function = "pressroom_forbid_change"
    trigger = f"{table}_append_only"
    forward = f"""
        CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% on % is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'integrity_constraint_violation';
        END $$;
        CREATE TRIGGER {trigger} BEFORE {operations} ON {table}
            FOR EACH ROW EXECUTE FUNCTION {function}();
    """
    reverse = f"DROP TRIGGER IF EXISTS {trigger} ON {table};"
    return forward, reverse
