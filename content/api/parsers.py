"""The JSON parser of the editorial endpoints: DRF's, answering a too deeply nested body with 400.

`json` raises `RecursionError` (not a `ValueError`) on a body like `[[[[...]]]]` thousands deep,
which DRF's `JSONParser` lets through as a 500. Nothing an endpoint accepts nests more than two
levels, so such a body is malformed input like any other.
"""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
