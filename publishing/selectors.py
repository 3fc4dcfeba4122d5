"""Reads about channels and publications, narrowed to what the asking user may see."""

from django.db.models import DateTimeField
from django.db.models.functions import Coalesce

from accounts import scoping
from publishing.models import Channel, Publication


def channels_for(user, *, active_only: bool = False):
    channels = scoping.visible(Channel.objects.all(), user)
    return channels.filter(is_active=True) if active_only else channels


def publications_for(user):
    """Publications of the user's teams; an integration that may not read them sees those of its own assets."""
    publications = scoping.visible(Publication.objects.all(), user)
    if not user.has_perm("publishing.view_publication"):
        publications = (publications.filter(asset__created_by=user) if user.has_perm("pipeline.add_asset")
                        else publications.none())
    return publications


def calendar_posts(user, start, end):
    """The user's posts placed on a calendar between `start` and `end` (aware datetimes), by their time.

    A post's time is when it went out if it has, else when it is scheduled for, else when it was
    approved (created): what an editor means by "when is that post".
    """
    posts = (publications_for(user).select_related("asset", "channel")
             .annotate(calendar_at=Coalesce("published_at", "scheduled_at", "created_at",
                                            output_field=DateTimeField()))
             .filter(calendar_at__gte=start, calendar_at__lt=end)
             .order_by("calendar_at", "pk"))
    return posts
