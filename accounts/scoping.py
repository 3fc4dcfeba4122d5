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


def preload(user) -> None:
    """Read `user`'s permissions (direct and through groups) and teams in one query, and keep them on
    the user where Django's ModelBackend and `team_ids` look first (`_user_perm_cache`,
    `_group_perm_cache`, `_perm_cache`, `_phantoms_team_ids`).

    What would otherwise be three queries on a request's first permission and scoping checks. Read
    per request, never kept across requests: a revoked token, a changed role or team take effect
    on the next request as before. Superusers and inactive users are left to the usual way.
    """
    if not getattr(user, "is_active", False) or not getattr(user, "is_authenticated", False) or user.is_superuser:
        return
    from django.contrib.auth.models import Permission
    from django.db.models import CharField, Value
    from django.db.models.functions import Cast

    from accounts.models import Team

    def kind(name):
        return Value(name, output_field=CharField())

    direct = (Permission.objects.filter(user=user).order_by()
              .values_list(kind("user"), "content_type__app_label", "codename"))
    grouped = (Permission.objects.filter(group__user=user).order_by()
               .values_list(kind("group"), "content_type__app_label", "codename"))
    teams = (Team.members.through.objects.filter(user=user).order_by()
             .values_list(kind("team"), kind(""), Cast("team_id", CharField())))
    found = {"user": set(), "group": set(), "team": set()}
    for which, app_label, name in direct.union(grouped, teams, all=True):
        found[which].add(int(name) if which == "team" else f"{app_label}.{name}")
    user._user_perm_cache = found["user"]
    user._group_perm_cache = found["group"]
    user._perm_cache = found["user"] | found["group"]
    user._phantoms_team_ids = found["team"]


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
