"""Settings of the web server the blog benchmark starts: the real settings plus one URL, a minimal
one-query view to compare the blog's pages with (`bench.blog_urls`)."""

from config.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.blog_urls"
