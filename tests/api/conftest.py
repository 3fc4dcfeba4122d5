import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import make_user


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def user(db):
    return make_user("integration")


@pytest.fixture
def api(user):
    """An integration's token: may submit and read, not review or requeue."""
    return client_for(user)


@pytest.fixture
def reviewer(db):
    return client_for(make_user("reviewer", perms=["pipeline.review_asset"]))


@pytest.fixture
def operator(db):
    return client_for(make_user("operator", perms=["engine.requeue_deadletter"]))


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (the enqueues) inside the test's transaction."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
