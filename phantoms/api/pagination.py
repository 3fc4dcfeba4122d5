"""Pages of at most API_PAGE_MAX_LIMIT rows; a bad `limit` or `offset` is a 400 naming it."""

from django.conf import settings
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, LimitOffsetPagination


def _bounded_int(request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
        raise ValidationError({name: [f"must be a whole number from {low} to {high}"]})
    value = int(raw)
    if not low <= value <= high:
        raise ValidationError({name: [f"must be a whole number from {low} to {high}"]})
    return value


class CappedLimitOffsetPagination(LimitOffsetPagination):
    # Set by a view that has counted the rows already (with its ETag): no second COUNT.
    known_count: int | None = None

    def get_count(self, queryset):
        return self.known_count if self.known_count is not None else super().get_count(queryset)

    @property
    def max_limit(self):
        return settings.API_PAGE_MAX_LIMIT

    def get_limit(self, request):
        return _bounded_int(request, self.limit_query_param, self.default_limit, 1, self.max_limit)

    def get_offset(self, request):
        return _bounded_int(request, self.offset_query_param, 0, 0, settings.API_PAGE_MAX_OFFSET)

    def get_schema_operation_parameters(self, view):
        limit, offset = super().get_schema_operation_parameters(view)
        limit["schema"].update({"minimum": 1, "maximum": self.max_limit})
        offset["schema"].update({"minimum": 0, "maximum": settings.API_PAGE_MAX_OFFSET})
        return [limit, offset]


class OffsetOrCursorPagination(CappedLimitOffsetPagination):
    """Offset pages by default; a view may switch to CappedCursorPagination on `?cursor=`.

    The documented page covers both: `count` is there on offset pages and absent on cursor pages.
    """

    def get_paginated_response_schema(self, schema):
        page = super().get_paginated_response_schema(schema)
        page["required"] = ["results"]
        page["properties"]["count"]["description"] = "Absent on cursor pages (`?cursor=`)."
        return page


class CappedCursorPagination(CursorPagination):
    """Pages that cost the same deep in a large table: no COUNT, no OFFSET; `?cursor=` starts at the newest.

    `limit` as for the other pages (1 to API_PAGE_MAX_LIMIT); `next` and `previous` carry the cursor.
    """

    ordering = ("-created_at", "-id")
    page_size_query_param = "limit"

    @property
    def max_page_size(self):
        return settings.API_PAGE_MAX_LIMIT

    def get_page_size(self, request):
        return _bounded_int(request, self.page_size_query_param, self.page_size, 1, self.max_page_size)

    def decode_cursor(self, request):
        # DRF answers a cursor it cannot read with 404; it is bad input in one field, so 400 naming it.
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: ["is not a cursor from this list's `next` or `previous`"]})
