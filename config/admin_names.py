"""Choosing related rows by name in the admin's forms: a box to type a name in, for relations with
too many rows to list.

A `<select>` of every category and both boxes of every tag made a post's form 850 kB at 5,000 of
each, and a budget's form listed every user (261 kB at 5,000; docs/reliability.md, rows 37 and 38).
Django's autocomplete (select2) failed the admin's accessibility rules, a NUL in it was a 500, and it
needs the right to view the related rows, which reviewers, who set budgets, lack for users. Here a
relation is a native combobox, a text box with a `<datalist>` (`NameSearchInput`): the keyboard,
screen readers, zoom and dark mode work as the browser makes them work. As one types,
`static/pressroom/name-search.js` asks the admin for the names that contain the text
(`NamePickerAdminMixin.names_view`, at most NAMES_SUGGESTED), offers them in the list and says in a
status region how many match. Without JavaScript a name is typed whole.

A name is compared as the rows' unique constraint compares it (whatever its letter case for
categories and tags; as it is for usernames). A name that names no row is a form error that suggests
up to NAMES_IN_ERROR names containing it; text no name can hold (a NUL, a lone surrogate, an
invisible character, more characters than the column holds) is a form error too. A relation to many
rows (a post's tags) is one box per row it names and EMPTY_BOXES more (the script adds others), at
most `NamePicker.most` names a submission. Imports nothing of the apps but `tasks`' text rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import or_

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, Model, Q, Value, When
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from tasks.control_characters import UNSTORABLE_CHARACTERS, first_hidden_character

NAMES_SUGGESTED = 20  # names the search offers at a time: type more to narrow them
NAMES_IN_ERROR = 5  # names a form error suggests for a name that names nothing
UNKNOWN_NAMES_SUGGESTED_FOR = 3  # names of one submission that get suggestions; the rest are listed
EMPTY_BOXES = 2  # empty boxes under a many-rows relation's names, to add some without JavaScript


@dataclass(frozen=True)
class NamePicker:
    """How an admin form chooses rows of `model` by name: its `column`, whether names that differ
    only in letter case are one (`any_case`, as the unique constraint of categories and tags says),
    and for a relation to many rows the most names a submission may carry (`most`)."""

    model: type[Model]
    column: str = "name"
    any_case: bool = True
    most: int | None = None

    @property
    def max_length(self) -> int:
        return self.model._meta.get_field(self.column).max_length

    @property
    def noun(self) -> str:
        return str(self.model._meta.verbose_name)

    @property
    def plural(self) -> str:
        return str(self.model._meta.verbose_name_plural)

    def key(self, name: str) -> str:
        """What two names that name one row have in common."""
        return name.casefold() if self.any_case else name

    def named(self, name: str) -> Q:
        return Q(**{f"{self.column}__iexact" if self.any_case else self.column: name})

    def names_containing(self, rows, text: str, limit: int) -> list[str]:
        """Up to `limit` names of `rows` that contain `text` (any case), those that begin with it first."""
        column = self.column
        if text:
            rows = rows.filter(**{f"{column}__icontains": text}).annotate(
                later=Case(When(**{f"{column}__istartswith": text}, then=Value(0)), default=Value(1),
                           output_field=IntegerField())).order_by("later", column)
        else:
            rows = rows.order_by(column)
        return list(rows.values_list(column, flat=True)[:limit])

    def refusal(self, name: str) -> str | None:
        """Why `name` cannot be a name at all, or None: such text is never looked up."""
        if UNSTORABLE_CHARACTERS.search(name):
            return f"A {self.noun}'s name cannot hold a NUL character or a lone surrogate."
        if len(name) > self.max_length:
            return f"A {self.noun}'s name has at most {self.max_length} characters; this one has {len(name):,}."
        hidden = first_hidden_character(name)
        if hidden is not None:
            return f"A {self.noun}'s name cannot hold the invisible character {hidden}."
        return None

    def unknown(self, rows, name: str, *, suggest: bool = True) -> str:
        """The form error for `name`, which names none of `rows`."""
        said = f"No {self.noun} is named “{name}”."
        if not suggest:
            return said
        near = self.names_containing(rows, name, NAMES_IN_ERROR)
        if not near:
            return f"{said} No {self.noun}'s name contains it either."
        return f"{said} Names that contain it: {', '.join(near)}."


class NameSearchInput(forms.TextInput):
    """A box to type one name in, with the `<datalist>` that name-search.js fills from `search_url`
    and the status region where it says how many names match."""

    class Media:
        js = ("pressroom/name-search.js",)

    def __init__(self, attrs=None, *, search_url: str = "", picker: NamePicker | None = None):
        super().__init__({"class": "vTextField", "autocomplete": "off", **(attrs or {})})
        self.search_url, self.picker = search_url, picker

    def _search_attrs(self, id_: str) -> dict:
        return {"list": f"{id_}_names", "data-name-search": self.search_url, "data-name-status": f"{id_}_status",
                "data-noun": self.picker.noun, "data-plural": self.picker.plural}

    def _lists(self, id_: str):
        return format_html('<datalist id="{}_names"></datalist><span class="name-search-status" id="{}_status" '
                           'role="status"></span>', id_, id_)

    def render(self, name, value, attrs=None, renderer=None):
        id_ = (attrs or {}).get("id") or f"id_{name}"
        box = super().render(name, value, {**(attrs or {}), **self._search_attrs(id_)}, renderer)
        return format_html('<div class="name-search">{}{}</div>', box, self._lists(id_))


class NameSearchInputs(NameSearchInput):
    """One box per name (a post's tags) and EMPTY_BOXES empty ones, each named "Tag 1", "Tag 2"…;
    the field's label points at the first. name-search.js adds an "Add another tag" button."""

    allow_multiple_selected = True

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)

    def value_omitted_from_data(self, data, files, name):
        return False  # no box sent is no name chosen

    def format_value(self, value):
        return [str(name) for name in value or () if name not in (None, "")]

    def render(self, name, value, attrs=None, renderer=None):
        attrs = dict(attrs or {})
        id_ = attrs.pop("id", None) or f"id_{name}"
        names = [*self.format_value(value), *[""] * EMPTY_BOXES]
        noun, box = capfirst(self.picker.noun), forms.TextInput(self.attrs)
        boxes = format_html_join("", "{}", (
            (box.render(name, text, {**attrs, **self._search_attrs(id_), "id": id_ if n == 0 else f"{id_}_{n}",
                                     "aria-label": f"{noun} {n + 1}"}, renderer),)
            for n, text in enumerate(names)
        ))
        return format_html('<div class="name-search"><div class="name-search-boxes" data-name-search-group '
                           'data-noun="{}">{}</div>{}</div>', self.picker.noun, boxes, self._lists(id_))


class NamedChoiceField(forms.ModelChoiceField):
    """One row of `queryset`, given by its name (`NamePicker`); the box shows the row's name."""

    def __init__(self, queryset, *, picker: NamePicker, **kwargs):
        super().__init__(queryset, **kwargs)
        self.picker = picker

    def prepare_value(self, value):
        if isinstance(value, Model):
            return getattr(value, self.picker.column)
        if value in self.empty_values or isinstance(value, str):  # empty, or typed: shown as it came
            return value or ""
        return self.queryset.filter(pk=value).values_list(self.picker.column, flat=True).first() or ""

    def to_python(self, value):
        name = "" if value in self.empty_values else str(value).strip()
        if not name:
            return None
        refusal = self.picker.refusal(name)
        if refusal:
            raise ValidationError(refusal, code="invalid_name")
        row = self.queryset.filter(self.picker.named(name)).first()
        if row is None:
            raise ValidationError(self.picker.unknown(self.queryset, name), code="unknown_name")
        return row

    def has_changed(self, initial, data) -> bool:
        return (self.picker.key(str(self.prepare_value(initial) or ""))
                != self.picker.key(str(data or "").strip()))


class NamedMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Rows of `queryset`, each given by its name in a box of its own; empty boxes are left out,
    a name given twice counts once, and at most `most` names are taken (`picker.most`, unless the
    form raises it for a row that already has more)."""

    def __init__(self, queryset, *, picker: NamePicker, **kwargs):
        super().__init__(queryset, **kwargs)
        self.picker = picker
        self.most = picker.most

    def prepare_value(self, value):
        if value is None or isinstance(value, str):
            return [value] if value else []
        column = self.picker.column
        return [getattr(item, column) if isinstance(item, Model) else str(item) for item in value]

    def _names(self, value) -> list[str]:
        value = [value] if isinstance(value, str) else list(value or ())
        names, seen = [], set()
        for item in value:
            name = str(item).strip()
            if name and self.picker.key(name) not in seen:
                seen.add(self.picker.key(name))
                names.append(name)
        return names

    def clean(self, value):
        picker, names = self.picker, self._names(value)
        if self.most is not None and len(names) > self.most:
            raise ValidationError(f"At most {self.most} {picker.plural} can be chosen; this form gave {len(names):,}.",
                                  code="too_many")
        if not names:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return self.queryset.none()
        refusals = [f"{capfirst(picker.noun)} {n}: {refusal}" for n, name in enumerate(names, 1)
                    if (refusal := picker.refusal(name))]
        if refusals:
            raise ValidationError(refusals, code="invalid_name")
        rows = list(self.queryset.filter(reduce(or_, (picker.named(name) for name in names))))
        found = {picker.key(getattr(row, picker.column)): row for row in rows}
        unknown = [name for name in names if picker.key(name) not in found]
        if unknown:
            raise ValidationError([picker.unknown(self.queryset, name, suggest=n < UNKNOWN_NAMES_SUGGESTED_FOR)
                                   for n, name in enumerate(unknown)], code="unknown_name")
        return self.queryset.filter(pk__in=[found[picker.key(name)].pk for name in names])

    def has_changed(self, initial, data) -> bool:
        key = self.picker.key
        return {key(name) for name in self._names(self.prepare_value(initial))} != {key(name) for name in self._names(data)}


class NamePickerAdminMixin:
    """An admin whose form chooses the related rows of `name_pickers` (field name → NamePicker) by
    name, and the search its boxes ask as one types: `<admin>/names/<field>/?q=text`, answering
    `{"names": [...], "more": bool}`, to whoever may add or change this admin's rows (the names the
    form would have listed in full)."""

    name_pickers: dict[str, NamePicker] = {}

    def get_urls(self):
        # Before the admin's own patterns: their catch-all would take "names/…" for an object's id.
        opts = self.opts
        names = path("names/<str:field>/", self.admin_site.admin_view(self.names_view),
                     name=f"{opts.app_label}_{opts.model_name}_names")
        return [names, *super().get_urls()]

    def _related_rows(self, field: str):
        db_field = self.opts.get_field(field)
        return db_field.remote_field.model._default_manager.complex_filter(db_field.get_limit_choices_to())

    def names_view(self, request, field):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])  # it only reads
        picker = self.name_pickers.get(field)
        if picker is None:
            raise Http404("No such field.")
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        text = request.GET.get("q", "").strip()  # NUL and bytes that are not UTF-8 are refused before (config)
        found = ([] if len(text) > picker.max_length
                 else picker.names_containing(self._related_rows(field), text, NAMES_SUGGESTED + 1))
        return JsonResponse({"names": found[:NAMES_SUGGESTED], "more": len(found) > NAMES_SUGGESTED})

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        picker = self.name_pickers.get(db_field.name)
        if picker is None:
            return super().formfield_for_dbfield(db_field, request, **kwargs)
        opts = self.opts
        url = reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_names", args=[db_field.name])
        common = {"picker": picker, "required": not db_field.blank, "label": capfirst(db_field.verbose_name)}
        if db_field.many_to_many:
            common["help_text"] = (f"One {picker.noun} a box: type part of its name and choose it from the list. "
                                   f"Empty a box to take its {picker.noun} off.")
            return NamedMultipleChoiceField(self._related_rows(db_field.name), **common,
                                            widget=NameSearchInputs(search_url=url, picker=picker))
        common["help_text"] = f"Type part of the {picker.noun}'s name and choose it from the list."
        return NamedChoiceField(self._related_rows(db_field.name), **common,
                                widget=NameSearchInput(search_url=url, picker=picker))
