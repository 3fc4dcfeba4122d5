import pytest
from rest_framework.test import APIClient

from accounts.services.tokens import issue_token
from tests.factories import make_user


def client_for(user) -> APIClient:
    """A person's session (as in the admin's browsable API)."""
    client = APIClient()
    client.force_login(user)
    return client


def token_client(team, role="integration", **kwargs) -> tuple[APIClient, object]:
    """An integration's token for `team`, and the token."""
    token, key = issue_token(name=kwargs.pop("name", f"{role} token"), team=team, role=role, **kwargs)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client, token


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def user(db):
    return make_user("integration", roles=["viewer", "editor"])


@pytest.fixture
def api(user):
    """An editor's session: may submit and read, not approve or requeue."""
    return client_for(user)


@pytest.fixture
def reviewer(db):
    return client_for(make_user("reviewer", roles=["approver", "editor"]))


@pytest.fixture
def operator(db):
    return client_for(make_user("operator", roles=["operator"]))


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (the enqueues) inside the test's transaction."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
