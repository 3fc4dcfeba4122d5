"""What every API view shares: ids in the path are checked before any query, rows are team-scoped."""

from rest_framework.exceptions import ValidationError

from phantoms.api.filters import MAX_ID


def check_id(value, field: str = "id") -> int:
    """A path id as an int, or a 400 naming it (never a database error)."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or not 1 <= int(text) <= MAX_ID:
        raise ValidationError({field: [f"must be a whole number from 1 to {MAX_ID}"]})
    return int(text)


class CheckedLookupMixin:
    """For viewsets: the `{id}` in the path is validated before `get_object` queries it."""

    def get_object(self):
        lookup = self.lookup_url_kwarg or self.lookup_field
        self.kwargs[lookup] = check_id(self.kwargs[lookup])
        return super().get_object()
