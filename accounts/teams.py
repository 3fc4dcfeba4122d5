"""The team a row gets when its creator names none: the first team, created on first use.

Briefs and channels made through the services always name their team; this default serves rows
made without one (fixtures, one-off scripts) and the migration that gave existing rows a team.
"""

DEFAULT_TEAM_NAME = "Phantoms"


def default_team_pk() -> int:
    from accounts.models import Team

    first = Team.objects.order_by("pk").values_list("pk", flat=True).first()
    if first is not None:
        return first
    return Team.objects.get_or_create(name=DEFAULT_TEAM_NAME)[0].pk
