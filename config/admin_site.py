"""The oversight hub's admin site: the index is a dashboard, and feedback analytics sits beside it.

`PressroomAdminConfig` replaces `django.contrib.admin` in INSTALLED_APPS and makes
`PressroomAdminSite` the default site, so every `admin.register` and `admin.site` in the apps
lands here unchanged. The index adds panels scoped to the viewer (what needs them now: running,
awaiting review, failed with the reason, recently published, spend) and two 30-day charts above
the model list; internal tables (task events, stage checkpoints) leave the model list for
everyone but superusers. The numbers come from the selectors in `publishing.dashboard`; the
charts are drawn by `publishing.charts`. This module is imported while the app registry loads,
so it reaches for models only inside the views.

Every ModelAdmin registered here, the apps' and those of django-q2, simplejwt, axes and
django.contrib.auth alike, follows the site's rules (`SiteRulesMixin`, mixed in by
`PressroomAdminSite.register`): a lookup it cannot run (a value its column cannot hold included)
is the admin's "?e=1", a service's refusal (`DomainError`) while saving or deleting is a message
on the page, a save never brings back a row another admin deleted meanwhile, a deletion that meets
a row written meanwhile naming what it deletes collects again (and deletes or unlinks it with the
rest, or says what protects it) instead of failing at commit, a list action on a
selection that names no row of the list does nothing and says so, a date and time prefilled
from an add form's query string is read as the form reads it or left out, and one typed in a form
is one every time zone can show (`tasks.validators.validate_showable_datetime`); none of them is a 500.
A search reads its first SEARCH_TERMS_MAX words, so that one query string cannot keep the
database busy for minutes. However long an object's history, its pages stay bounded: a deletion's
confirmation page names at most DELETION_ROWS_LISTED rows of a kind and counts the rest
(`ListedDeletionAdmin`, beneath every admin), and a related field's list filter can name a short list
(`ShortRelatedFilter`).
"""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from decimal import Decimal
from functools import cache, wraps

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import NestedObjects, quote
from django.contrib.admin.views.main import (
    ALL_VAR, ERROR_FLAG, IS_FACETS_VAR, IS_POPUP_VAR, ORDER_VAR, PAGE_VAR, SEARCH_VAR, TO_FIELD_VAR,
)
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import DataError, IntegrityError, connections, models, router, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.text import capfirst, smart_split

from config.postgresql.base import planned_for_its_values
from tasks.exceptions import DomainError, NoLongerExists
from tasks.validators import validate_showable_datetime

READING_METHODS = frozenset({"GET", "HEAD"})
# (app_label, object_name) of bookkeeping tables that only the pipeline writes.
INTERNAL_MODELS = {("tasks", "TaskEvent"), ("tasks", "StageCheckpoint")}
ANALYTICS_PERMISSION = "content.view_approvalevent"
OUTCOME_TONES = {"completed": "completed", "failed": "failed", "cancelled": "cancelled", "timed_out": "timed-out"}
TICK_EVERY_DAYS = 5
# The dashboard's parts read again (`queue_view`) when a task is created, changes status, is
# decided on or published; each is templates/admin/dashboard_<name>.html, included by the index in
# a `data-dashboard-panel` element.
LIVE_PANELS = ("awaiting", "failures", "published", "spend", "budget", "outcomes", "costs")
SEARCH_TERMS_MAX = 20  # words of an admin search (`?q=`, autocomplete's `term`); the rest is left out
ANALYTICS_CHART_WIDTH = 800  # the analytics chart has a page of its own: wider, so its text stays in scale
# A changelist's query-string parameters that are not lookups (and the preserved filters of a form).
CHANGELIST_PARAMETERS = frozenset({ALL_VAR, ERROR_FLAG, IS_FACETS_VAR, IS_POPUP_VAR, ORDER_VAR, PAGE_VAR, SEARCH_VAR,
                                   TO_FIELD_VAR, "_changelist_filters"})


def money(value) -> str:
    """US dollars as editors read them: "$0.07", and "$0.0012" for amounts under a cent."""
    value = Decimal(value or 0)
    if value == 0:
        return "$0"
    places = 2 if abs(value) >= Decimal("0.01") else 4
    return f"${value:,.{places}f}"


class SiteRulesMixin:
    """What every admin of the site does, whichever app wrote it (see the module's docstring)."""

    def get_changelist_instance(self, request):
        # A lookup that names a real field but a value no `datetime` holds
        # (`?created_at__year=99999999999999`, `?created_at__year=0`) passes the admin's own checks
        # and fails only while the list is counted. So does a value that only PostgreSQL reads, and
        # refuses: an array field passes the query string's text on as it is (`?tags__exact=x`,
        # "malformed array literal", a 500 on the task, decision and webhook lists). A list filtered
        # from its query string is counted in a savepoint, so that refusal leaves the request's
        # transaction usable; an unfiltered one, most page loads, is spared the two statements.
        filtered = not set(request.GET) <= CHANGELIST_PARAMETERS
        try:
            with transaction.atomic(using=router.db_for_read(self.model)) if filtered else nullcontext():
                return super().get_changelist_instance(request)
        except (OverflowError, ValueError, DataError) as error:
            raise IncorrectLookupParameters(f"Lookup out of range: {error}") from None

    def get_search_results(self, request, queryset, search_term):
        # Django ANDs one OR over every search field per word of `?q=`: 2,000 words (7,000
        # characters, one GET) kept PostgreSQL busy for minutes on the task events list. The
        # first SEARCH_TERMS_MAX words are searched, and the page says so.
        terms = list(smart_split(search_term))
        if len(terms) > SEARCH_TERMS_MAX:
            search_term = " ".join(terms[:SEARCH_TERMS_MAX])
            if not getattr(request, "_search_cut_noted", False):
                request._search_cut_noted = True
                messages.warning(request, f"Only the first {SEARCH_TERMS_MAX} words of the search were used.")
        return super().get_search_results(request, queryset, search_term)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # A date and time typed in range where it was typed can be out of Python's range in UTC, or
        # in another zone, and PostgreSQL stores it anyway: a schedule's next run or a user's
        # "date joined" of 9999-12-31 23:00 in New York made every read of the row fail (the
        # schedules' list and the cluster's scheduler; every request of that user).
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(db_field, models.DateTimeField) and formfield is not None:
            formfield.validators.append(validate_showable_datetime)
        return formfield

    def get_changeform_initial_data(self, request):
        # Django prefills an add form from the query string as it is: a date and time there is a
        # string, which the split date-time widget read as a datetime and failed on (a 500 for
        # `/admin/publishing/post/add/?published_at=2027-01-02 10:30`, valid or not). Such a value
        # is read as the form would read it, and left out when it is no date and time.
        initial = super().get_changeform_initial_data(request)
        for name, value in list(initial.items()):
            try:
                field = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if isinstance(field, models.DateTimeField) and isinstance(value, str):
                try:
                    initial[name] = forms.DateTimeField().clean(value)
                except (ValidationError, OverflowError, ValueError):
                    del initial[name]
        return initial

    def save_model(self, request, obj, form, change):
        # Another admin's delete may have committed since this form was loaded: Django's save()
        # would update no row and insert it again (a deleted post came back, public). The row is
        # locked for the rest of the save, so a delete now waits for it. An admin whose service
        # locks the row itself, after a lock that must come first (`row_locked_by_service`), is
        # left to it.
        if (change and not getattr(self, "row_locked_by_service", False)
                and not type(obj)._default_manager.select_for_update().filter(pk=obj.pk).exists()):
            raise NoLongerExists(f"This {self.opts.verbose_name} was deleted meanwhile; nothing was saved.")
        super().save_model(request, obj, form, change)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A service refused the save (the task moved on since the page was loaded, the object was
        # deleted meanwhile...): nothing was written (the admin's transaction rolled back).
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    # Django's delete collects the rows that name what it deletes, then deletes. A row written
    # meanwhile by another transaction (a task queued by the account being deleted, a decision it
    # recorded), which kept the row it names from deletion until its commit, made the deletion
    # fail on that row's foreign key at commit: a 500, nothing deleted. Here the foreign keys
    # that name the deleted model are checked as each row is deleted (SET CONSTRAINTS … IMMEDIATE,
    # in a savepoint), so such a row fails the deletion at once, and it is collected again: the
    # new row is deleted or unlinked with the rest, or, when it protects what is deleted, the page
    # says so and nothing is deleted.
    def delete_model(self, request, obj):
        self._delete_collecting_again(lambda: super(SiteRulesMixin, self).delete_model(request, obj))

    def delete_queryset(self, request, queryset):
        self._delete_collecting_again(lambda: super(SiteRulesMixin, self).delete_queryset(request, queryset))

    def _delete_collecting_again(self, delete) -> None:
        using = router.db_for_write(self.model)
        constraints = _foreign_keys_naming(self.model, using)
        for attempt in range(1, DELETE_ATTEMPTS + 1):
            try:
                with transaction.atomic(using=using), connections[using].cursor() as cursor:
                    if constraints:
                        cursor.execute(f"SET CONSTRAINTS {constraints} IMMEDIATE")
                    delete()
                    if constraints:
                        cursor.execute(f"SET CONSTRAINTS {constraints} DEFERRED")
                return
            except (ProtectedError, RestrictedError) as refusal:  # subclasses of IntegrityError: caught before it
                kinds = sorted({str(row._meta.verbose_name) for row in refusal.args[1]})
                raise DomainError(f"This {self.opts.verbose_name} cannot be deleted now: {', '.join(kinds)} "
                                  "recorded meanwhile refer to it. Nothing was deleted.") from None
            except IntegrityError:
                if attempt == DELETE_ATTEMPTS:
                    raise DomainError(f"This {self.opts.verbose_name} could not be deleted: rows naming it were "
                                      "written while it was being deleted. Nothing was deleted; try again.") from None

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[object_id],
                current_app=self.admin_site.name,
            ))

    def response_action(self, request, queryset):
        # Django filters `pk__in` with the posted selection as it is: a value that is no key of
        # this list ("x" for a UUID, 40 digits for a bigint, a NUL) failed inside the query.
        pk = self.model._meta.pk
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                if "\x00" in value:
                    raise ValidationError("NUL")
                pk.clean(value, None)
        except (ValidationError, ValueError, TypeError, OverflowError):
            self.message_user(request, "The selection names no item of this list; nothing was done.",
                              messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        try:
            return super().response_action(request, queryset)
        except DomainError as error:  # a service's refusal, or a deletion's (`delete_queryset`)
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


FILTER_CHOICES_SHOWN = 50  # rows a related field's list filter names (`ShortRelatedFilter`)


class ShortRelatedFilter(admin.RelatedFieldListFilter):
    """A related field's list filter that names at most FILTER_CHOICES_SHOWN rows (in the related
    admin's order) and the ones chosen, and says in its title how many there are: the posts' list
    named each of 5,000 categories and 5,000 tags, 1.2 MB of page. The others are reached by the
    list's search, which looks in their names."""

    def __init__(self, *args, **kwargs):
        self.rows_total = None  # set by `field_choices` when it names only some
        super().__init__(*args, **kwargs)
        if self.rows_total is not None:
            self.title = f"{self.title} (the first {FILTER_CHOICES_SHOWN} of {self.rows_total:,}; search for others)"

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        rows = field.related_model._default_manager.complex_filter(field.get_limit_choices_to())
        rows = rows.order_by(*ordering) if ordering else rows
        shown = list(rows[:FILTER_CHOICES_SHOWN + 1])
        if len(shown) > FILTER_CHOICES_SHOWN:
            shown, self.rows_total = shown[:FILTER_CHOICES_SHOWN], rows.count()
            try:
                shown += [row for row in rows.filter(pk__in=self.lookup_val or []) if row not in shown]
            except (ValidationError, ValueError, TypeError, OverflowError):
                pass  # a chosen value that is no key: the list's own lookup answers it (?e=1)
        return [(row.pk, str(row)) for row in shown]


DELETE_ATTEMPTS = 3  # collections of an admin deletion while rows naming it keep being written
# Rows of each kind a deletion's confirmation page reads and names, at each step of its collection
# (the rows that name what is deleted, then the rows naming those...); the rest are counted.
DELETION_ROWS_LISTED = 100


class ListedNestedObjects(NestedObjects):
    """Django's collector of the rows a deletion takes along, for its confirmation page, reading at
    most DELETION_ROWS_LISTED rows of a kind at each step and counting the others (`unlisted`).
    Deleting a tag of 50,000 posts named every one (3 MB, 2.3 s); a webhook subscription with
    100,000 attempts read each of them (10.5 s). The deletion itself collects everything."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.unlisted = Counter()

    def related_objects(self, related_model, related_fields, objs):
        rows = super().related_objects(related_model, related_fields, objs)
        total = rows.count()
        if total <= DELETION_ROWS_LISTED:
            return rows
        self.unlisted[related_model] += total - DELETION_ROWS_LISTED
        return rows[:DELETION_ROWS_LISTED]


class ListedDeletionAdmin(admin.ModelAdmin):
    """The ModelAdmin beneath every admin of the site (`PressroomAdminSite.register` puts it just
    above Django's, so an admin's own `get_deleted_objects` still adjusts what this returns).

    Django's `get_deleted_objects` (`django.contrib.admin.utils`), with `ListedNestedObjects`: a
    deletion's confirmation page names at most DELETION_ROWS_LISTED rows of a kind at each step,
    says how many more of each kind there are, and its summary counts every row of those kinds. The
    rows beneath the ones not listed are neither read nor counted; the deletion itself (Django's
    collector, not this one) takes them all, and refuses a protected one as a message (SiteRulesMixin)."""

    def get_deleted_objects(self, objs, request):
        try:
            using = router.db_for_write(objs[0]._meta.model)
        except IndexError:
            return [], {}, set(), []
        collector = ListedNestedObjects(using=using, origin=objs)
        collector.collect(objs)
        perms_needed = set()
        site = self.admin_site

        def format_callback(obj):
            opts = obj._meta
            if not site.is_registered(obj.__class__):
                return f"{capfirst(opts.verbose_name)}: {obj}"
            if not site.get_model_admin(obj.__class__).has_delete_permission(request, obj):
                perms_needed.add(opts.verbose_name)
            try:
                url = reverse(f"{site.name}:{opts.app_label}_{opts.model_name}_change", args=[quote(obj.pk)])
            except NoReverseMatch:
                return f"{capfirst(opts.verbose_name)}: {obj}"
            return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, obj)

        to_delete = collector.nested(format_callback)
        to_delete += [f"… and {count:,} more {model._meta.verbose_name_plural}, not listed here"
                      for model, count in collector.unlisted.items()]
        protected = [format_callback(obj) for obj in collector.protected]
        model_count = {model._meta.verbose_name_plural: len(rows) + collector.unlisted[model]
                       for model, rows in collector.model_objs.items()}
        return to_delete, model_count, perms_needed, protected


@cache
def _foreign_keys_naming(model, using: str) -> str:
    """The deferrable foreign-key constraints that name `model`'s table, as SET CONSTRAINTS lists
    them ("" for none); read from the catalog once per process."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE contype = 'f' AND condeferrable "
                       "AND confrelid = %s::regclass ORDER BY conname", [model._meta.db_table])
        names = [row[0] for row in cursor.fetchall()]
    quote = connections[using].ops.quote_name
    return ", ".join(quote(name) for name in names)


class PressroomAdminSite(admin.AdminSite):
    site_header = "Pressroom"
    site_title = "Pressroom"
    index_title = "Editorial oversight"
    empty_value_display = "—"  # the dash Pressroom's own cells use for "none" (Django's is "-")

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every admin class gets `SiteRulesMixin`, whichever app registers it, and
        `ListedDeletionAdmin` beneath it."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, SiteRulesMixin):
            admin_class = type(admin_class.__name__, (SiteRulesMixin, admin_class, ListedDeletionAdmin),
                               {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__})
        return super().register(model_or_iterable, admin_class, **options)

    def admin_view(self, view, cacheable=False):
        """Every admin page that only reads runs planned for its values (`planned_for_its_values`).

        With prepared statements a changelist's query, prepared after five pages, may get one
        generic plan for every filter value. At 50,000 tasks an editor's list of running tasks
        then took 99 ms instead of 61 (a forced generic plan: 198 ms), because the plan made for
        the common statuses walks the whole list to find the rare ones. Admin pages are few and
        their queries depend on their filters, so they are planned each time; the template is
        rendered inside too, since a changelist's rows are read while it renders. Forms that write
        (POST) are left as they are: their services own their transactions.
        """

        @wraps(view)
        def planned(request, *args, **kwargs):
            if request.method not in READING_METHODS:
                return view(request, *args, **kwargs)
            with planned_for_its_values():
                response = view(request, *args, **kwargs)
                if not getattr(response, "is_rendered", True):
                    response.render()
            return response

        return super().admin_view(planned, cacheable)

    def get_urls(self):
        # Before the admin's own patterns: their catch-all would answer this path with a 404.
        analytics = path(
            "feedback-analytics/", self.admin_view(self.feedback_analytics_view), name="feedback_analytics"
        )
        running_row = path("dashboard/running/<str:task_id>/", self.admin_view(self.running_row_view),
                           name="dashboard_running_row")
        queue = path("dashboard/queue/", self.admin_view(self.queue_view), name="dashboard_queue")
        urls = super().get_urls()
        return [analytics, running_row, queue,
                *(path(str(url.pattern), self.admin_view(self.view_on_site), name=url.name)
                  if getattr(url, "name", None) == "view_on_site" else url for url in urls)]

    def view_on_site(self, request, content_type_id, object_id):
        """The admin's "View on site" redirect, for those who may see the object in the admin.

        Django's (`contenttypes.views.shortcut`) redirects any staff member to any object's page,
        so one without the right to see a post in the admin still learned where a draft would be
        published. Here the object must be among those its admin shows the user (else 404, as for
        an object that does not exist) and the user must have the right to view it (else 403,
        as its change page answers); then Django's redirect follows.
        """
        from django.contrib.contenttypes.models import ContentType
        from django.contrib.contenttypes.views import shortcut
        from django.http import Http404

        try:
            model = ContentType.objects.get_for_id(int(content_type_id)).model_class()
        except (ContentType.DoesNotExist, ValueError, OverflowError):
            raise Http404("No such object.") from None
        model_admin = self.get_model_admin(model) if model is not None and self.is_registered(model) else None
        if model_admin is None:
            raise Http404("No such object.")
        obj = model_admin.get_object(request, object_id)
        if obj is None:
            raise Http404("No such object.")
        if not model_admin.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        return shortcut(request, content_type_id, object_id)

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        if request.user.is_superuser:
            return app_list
        visible = []
        for app in app_list:
            models = [m for m in app["models"] if (app["app_label"], m["object_name"]) not in INTERNAL_MODELS]
            if models:
                visible.append({**app, "models": models})
        return visible

    def index(self, request, extra_context=None):
        from publishing import dashboard

        context = {"dashboard": self.dashboard_context(request),
                   "my_decisions": dashboard.recent_decisions_by(request.user), **(extra_context or {})}
        return super().index(request, context)

    def running_row_view(self, request, task_id):
        """The dashboard's "Running now" row (`<tr>`) of a task that live-progress.js saw start; 204
        when it is not running, not the viewer's to see, or not a task."""
        from publishing import dashboard

        task = dashboard.running_task(request.user, task_id)
        if task is None:
            return HttpResponse(status=204)
        return TemplateResponse(request, "admin/dashboard_running_row.html", {"row": self._running_row(task)})

    def queue_view(self, request):
        """What the dashboard reads again when a task is created, changes status, is decided on or
        published, over the tasks the viewer may see: `{"counts": {status: tasks}, "panels": {name:
        html}}`, the Queue counts and every panel of LIVE_PANELS as the index renders it."""
        from publishing import dashboard

        d = {**self._dashboard_lists(request.user), **self._dashboard_figures(request.user)}
        panels = {name: render_to_string(f"admin/dashboard_{name}.html", {"d": d}, request=request)
                  for name in LIVE_PANELS}
        counts = {row["status"]: row["count"] for row in dashboard.queue_depth(request.user)}
        return JsonResponse({"counts": counts, "panels": panels})

    @staticmethod
    def _dashboard_lists(user) -> dict:
        """The dashboard's awaiting-review and failures lists, whose tasks they show, and the
        recently published posts; with how many await review in all and where the task list shows them."""
        from publishing import dashboard
        from tasks.admin import REVIEW_QUEUE_PARAM

        return {"scope": "all" if user.has_perm("tasks.view_all_tasks") else "own",
                "awaiting_review": dashboard.awaiting_review(user),
                "awaiting_review_count": dashboard.awaiting_review_count(user),
                "review_queue_url": f"{reverse('admin:tasks_generationtask_changelist')}?{REVIEW_QUEUE_PARAM}=awaiting",
                "failures": dashboard.recent_failures(user), "published": dashboard.recently_published()}

    @staticmethod
    def _dashboard_figures(user) -> dict:
        """The dashboard's spend, budgets and two charts over the tasks `user` may see."""
        from publishing import dashboard
        from publishing.charts import Series, bar_chart
        from tasks.models import Status

        finished = dashboard.finished_per_day(user)
        days = [formats.date_format(day, "D j M") for day in finished.days]
        ticks = [
            formats.date_format(day, "j M") if (len(days) - 1 - index) % TICK_EVERY_DAYS == 0 else ""
            for index, day in enumerate(finished.days)
        ]
        outcomes_chart = bar_chart(
            title="Tasks finished per day, last 30 days, by outcome",
            categories=days,
            tick_labels=ticks,
            series=[
                Series(Status(status).label, values, OUTCOME_TONES[status])
                for status, values in finished.series.items()
            ],
            x_label="Day finished",
            y_label="Tasks",
            empty_text="No task finished in the last 30 days",
        )
        spend = dashboard.cost_per_day(user)
        cost_chart = bar_chart(
            title="Cost per day, last 30 days (USD)",
            categories=days,
            tick_labels=ticks,
            series=[Series("Cost (USD)", spend.series["cost"], "cost")],
            x_label="Day",
            y_label="USD",
            value_format=money,
            empty_text="Nothing spent in the last 30 days",
        )
        costs = dashboard.cost_totals(user)
        budgets = [
            {"row": row, "label": "Site" if row.scope == "site" else "Yours", "spent": money(row.spent),
             "limit": money(row.limit) if row.limit is not None else "", "remaining": money(row.remaining)}
            for row in dashboard.budget_overview(user)
        ]
        return {"cost_today": money(costs["today"]), "cost_month": money(costs["month"]), "budgets": budgets,
                "outcomes_chart": outcomes_chart, "cost_chart": cost_chart}

    def _running_row(self, task) -> dict:
        from tasks.models import GenerationTask

        # The task list's own state cell: live-progress.js updates it here as it does there.
        return {"task": task, "state": self.get_model_admin(GenerationTask).state_cell(task)}

    def dashboard_context(self, request) -> dict:
        from publishing import dashboard
        from tasks.admin import TASKS_SOCKET_PATH

        user = request.user
        running = [self._running_row(task) for task in dashboard.running_tasks(user)]
        return {
            **self._dashboard_lists(user),
            **self._dashboard_figures(user),
            "can_review": dashboard.can_review(user),
            "queue": dashboard.queue_depth(user),
            "running": running,
            "live": {"tasks_url": reverse("api:task_list"), "socket_path": TASKS_SOCKET_PATH,
                     "row_url": reverse(f"{self.name}:dashboard_running_row", args=["TASK_ID"]),
                     "queue_url": reverse(f"{self.name}:dashboard_queue"),
                     "server_now": timezone.now().isoformat()},
            "analytics_url": (
                reverse(f"{self.name}:feedback_analytics") if user.has_perm(ANALYTICS_PERMISSION) else ""
            ),
            "task_changelist_url": reverse(f"{self.name}:tasks_generationtask_changelist"),
        }

    def feedback_analytics_view(self, request):
        from content.models import ReasonCode
        from publishing import dashboard
        from publishing.charts import Series, bar_chart

        if not request.user.has_perm(ANALYTICS_PERMISSION):
            raise PermissionDenied
        data = dashboard.rejection_reasons(request.user)
        labels = dict(ReasonCode.choices)

        def label(code: str) -> str:
            return labels.get(code, code.replace("_", " ").capitalize())

        chart = bar_chart(
            title="Rejection reasons by model",
            categories=data.models,
            series=[
                Series(label(code), [data.by_model[model][code] for model in data.models]) for code in data.reasons
            ],
            x_label="Model",
            y_label="Rejections giving the reason",
            empty_text="No rejection in this period",
            width=ANALYTICS_CHART_WIDTH,
        )
        reason_columns = [{"code": code, "label": label(code)} for code in data.reasons]

        def row(name: str, counter) -> dict:
            return {"name": name, "counts": [counter[code] for code in data.reasons], "total": sum(counter.values())}

        context = {
            **self.each_context(request),
            "title": "Feedback analytics",
            "scope": "all" if request.user.has_perm("tasks.view_all_tasks") else "own",
            "months_shown": dashboard.ANALYTICS_MONTHS,
            "total": data.total,
            "reasons": reason_columns,
            "model_rows": [row(name, data.by_model[name]) for name in data.models],
            "month_rows": [row(formats.date_format(month, "F Y"), data.by_month[month]) for month in data.months],
            "chart": chart,
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/feedback_analytics.html", context)


class PressroomAdminConfig(AdminConfig):
    default_site = "config.admin_site.PressroomAdminSite"

    def ready(self):
        super().ready()
        from config.admin_login import AdminLoginForm  # the auth forms import models: not before the registry

        admin.site.login_form = AdminLoginForm
