import django_rq
import pytest
from django.contrib.messages import get_messages

from tests.admin.factories import make_staff


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def staff_client(client, db):
    """A staff user who may see and edit assets and dead letters, but not review, requeue or manage breakers."""
    user = make_staff(perms=["pipeline.view_asset", "pipeline.change_asset", "engine.view_deadletter",
                             "publishing.view_publication"])
    client.force_login(user)
    return client


def queued(name: str) -> int:
    return django_rq.get_queue(name).count


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]
