"""What Django's debug page (DEBUG=1) may print: never a credential, in any setting.

Django hides settings whose *name* looks secret (API, TOKEN, KEY, SECRET, PASS, SIGNATURE).
Connection strings escape that pattern: `DATABASE_URL`, `REDIS_URL`, `CACHES`, `CHANNEL_LAYERS`
carry a password in their value. This filter also hides settings named like a connection and any
value, under any name, that looks like a URL with a password (`scheme://user:pass@host`).
"""

from __future__ import annotations

import re

from django.views.debug import SafeExceptionReporterFilter

URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.\-]*://[^/\s:@]*:[^/\s@]*@", re.IGNORECASE)


class CredentialSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|URL|DSN|DATABASE|REDIS|BROKER|CACHE|CHANNEL",
        flags=re.IGNORECASE,
    )

    def cleanse_setting(self, key, value):
        if isinstance(value, str) and URL_WITH_PASSWORD.search(value):
            return self.cleansed_substitute
        return super().cleanse_setting(key, value)
