"""WSGI entry point of the blog benchmark's Gunicorn (settings `bench.blog_settings`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.blog_settings")
application = get_wsgi_application()
