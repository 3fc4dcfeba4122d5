"""Per-team scoping: a user (or a token's principal) sees and acts only within their teams.

Every model that belongs to a team names the path to it in a `team_field` class attribute
(`"team"`, `"asset__team"`, ...). `visible` filters any queryset of such a model; a model that
names no path is refused, so nothing is shown unscoped by accident. Superusers see every team.
Another team's rows are simply absent: views answer 404 for them, never 403.
"""

from django.db.models import Q, QuerySet


class Unscoped(TypeError):
    """A queryset of a model that does not say which team its rows belong to."""


def sees_all_teams(user) -> bool:
    return bool(getattr(user, "is_active", False) and getattr(user, "is_superuser", False))


def team_ids(user) -> set[int] | None:
    """The teams `user` belongs to; None means every team (a superuser)."""
    if sees_all_teams(user):
        return None
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return set()
    cached = getattr(user, "_phantoms_team_ids", None)
    if cached is None:
        cached = set(user.teams.values_list("pk", flat=True))
        user._phantoms_team_ids = cached
    return cached


def visible(queryset: QuerySet, user) -> QuerySet:
    """`queryset` narrowed to the rows of `user`'s teams."""
    model = queryset.model
    path = getattr(model, "team_field", None)
    if path is None:
        raise Unscoped(f"{model._meta.label} does not say which team its rows belong to (team_field)")
    ids = team_ids(user)
    if ids is None:
        return queryset
    lookup = "pk__in" if path == "pk" else f"{path}__in"
    condition = Q(**{lookup: ids})
    if getattr(model, "teamless_visible", False):
        condition |= Q(**{f"{path}__isnull": True})
    return queryset.filter(condition)


def in_team(user, team_id) -> bool:
    ids = team_ids(user)
    return ids is None or team_id in ids


def forget(user) -> None:
    """Drop the cached team ids (after changing a user's teams within one request)."""
    if hasattr(user, "_phantoms_team_ids"):
        del user._phantoms_team_ids


def home_team(user) -> int | None:
    """The team a user acts in when they name none: their only team (or the only team there is)."""
    if getattr(user, "is_authenticated", False):
        mine = list(user.teams.values_list("pk", flat=True)[:2])
        if len(mine) == 1:
            return mine[0]
        if mine or not sees_all_teams(user):
            return None
    from accounts.models import Team

    every = list(Team.objects.values_list("pk", flat=True)[:2])
    return every[0] if len(every) == 1 else None
