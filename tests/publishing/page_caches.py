"""The blog's page caches, emptied around a test that reads pages (`fresh_page_cache`, autouse
where it is imported)."""

from __future__ import annotations

import pytest
from django.core.cache import caches

PAGE_CACHES = ("blog_pages", "blog_search_pages")


@pytest.fixture(autouse=True)
def fresh_page_cache():
    for alias in PAGE_CACHES:
        caches[alias].clear()
    yield
    for alias in PAGE_CACHES:
        caches[alias].clear()
