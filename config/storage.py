"""Media storage: Django's file system storage that never leaves a half-written file behind.

Django's `FileSystemStorage` streams a file into its final path; when the disk fills up (or any
other write fails) midway, the truncated file stays there, named by nothing in the database, and
a retry writes a second one next to it. This storage removes the file its failed write created,
so a failed image stage leaves media as it found it. Which errors a stage retries is decided where
versions are written (`content/services/versions.py`).
"""

from __future__ import annotations

import os
from contextlib import suppress

from django.core.files.storage import FileSystemStorage


class MediaStorage(FileSystemStorage):
    def _save(self, name, content):
        existed = self.exists(name)
        try:
            return super()._save(name, content)
        except OSError:
            if not existed:
                with suppress(FileNotFoundError):
                    os.remove(self.path(name))
            raise
