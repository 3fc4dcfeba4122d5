import pytest
from django.urls import reverse

from phantoms.resilience.breakers import get_breaker
from pipeline.models import Asset
from tests.admin.factories import make_asset, make_dead_letter

pytestmark = pytest.mark.django_db


def test_index_shows_counts_linking_to_filtered_pages(admin_client):
    make_asset()
    make_asset()
    make_dead_letter(make_asset(Asset.State.FAILED, failed_stage="script"))
    get_breaker("youtube").force_open(actor="test")

    html = admin_client.get(reverse("admin:index")).content.decode()

    assert f'href="{reverse("admin:pipeline_asset_changelist")}?state__exact=awaiting_review"' in html
    assert '<span class="ph-count">2</span>awaiting review' in html
    assert '<span class="ph-count">1</span>open dead letter' in html
    assert "youtube open" in html
    assert reverse("admin:engine_breaker_changelist") in html


def test_dead_letter_link_lands_on_open_letters(admin_client):
    make_dead_letter(make_asset(Asset.State.FAILED, failed_stage="script"))
    response = admin_client.get(reverse("admin:engine_deadletter_changelist") + "?status__exact=open")
    assert response.context["cl"].result_count == 1
