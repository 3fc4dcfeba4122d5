"""Reads about channels and publications, narrowed to what the asking user may see."""

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
