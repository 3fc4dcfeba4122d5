"""Pages of at most API_PAGE_MAX_LIMIT rows; a bad `limit` or `offset` is a 400 naming it."""

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination


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
