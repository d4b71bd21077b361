"""What the task admin's tests share: a logged-in client, the brief form's POST data, form and list reads."""

from __future__ import annotations

import html
import re

from django.test import Client
from django.utils.html import strip_tags

from tests.factories import offline_model


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def brief_data(**overrides) -> dict:
    """POST data of the brief part of the task form."""
    data = {
        "task_type": "blog_post",
        "title": "",
        "topic": "Rust for Python programmers",
        "word_count": "1200",
        "word_count_tolerance": "10",
        "style": "technical",
        "tone": "friendly",
        "target_audience": "Backend developers",
        "primary_keyword": "rust",
        "category": "Programming",
        "tags": "rust,python",
        "model": str(offline_model().pk),
        "priority": "0",
    }
    data.update(overrides)
    return data


def inline_management_data(response) -> dict:
    """The inline formsets' management fields, as the change page rendered them."""
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): value for name, value in management.initial.items()})
    return data


def changelist_rows(response) -> list:
    return list(response.context["cl"].result_list)


def breadcrumbs_of(response) -> list[str]:
    """The page's breadcrumbs as text, one item per crumb."""
    trail = re.search(r'<div class="breadcrumbs">(.*?)</div>', response.content.decode(), re.S).group(1)
    return [crumb.strip() for crumb in html.unescape(strip_tags(trail)).split("\u203a")]
