import pytest
from django.urls import reverse
from django.utils.html import escape

from accounts.models import AuditEvent
from phantoms.engine.models import StageAttempt
from pipeline.models import Asset
from tests.admin.conftest import queued
from tests.admin.factories import make_asset, make_channel

pytestmark = pytest.mark.django_db


def test_brief_form_creates_an_asset_in_scripting(admin_client, transactional_db):
    channel = make_channel("tiktok")
    response = admin_client.post(reverse("admin:pipeline_asset_add"), {
        "team": channel.team_id, "brief": "Five facts about tardigrades", "title": "Tardigrades",
        "channels": [channel.pk],
        "target_duration_seconds": 30, "providers": "{}",
    })

    asset = Asset.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:pipeline_asset_changelist")
    assert asset.state == Asset.State.SCRIPTING
    assert list(asset.channels.all()) == [channel]
    assert asset.created_by.username == "admin"
    assert asset.transitions.get().to_state == "scripting"
    assert queued("script") == 1


def test_brief_form_rejects_unknown_provider(admin_client):
    response = admin_client.post(reverse("admin:pipeline_asset_add"), {
        "brief": "Anything", "target_duration_seconds": 20, "providers": '{"script": "nope"}',
    })
    assert response.status_code == 200
    assert "unknown script provider" in response.content.decode()
    assert not Asset.objects.exists()


@pytest.mark.parametrize("providers,words", [
    ('{"voice": "silence"}', "&#x27;silence&#x27; is for benchmarks only"),
    ('{"render": "instant"}', "&#x27;instant&#x27; is for benchmarks only"),
])
def test_brief_form_refuses_benchmark_only_providers(admin_client, providers, words):
    response = admin_client.post(reverse("admin:pipeline_asset_add"), {
        "brief": "Anything", "target_duration_seconds": 20, "providers": providers,
    })
    assert response.status_code == 200
    assert words in response.content.decode()
    assert not Asset.objects.exists()


def test_asset_list_shows_badges_and_render_progress(admin_client):
    asset = make_asset(Asset.State.RENDERING)
    Asset.objects.filter(pk=asset.pk).update(render_progress=0.42)
    make_asset(Asset.State.FAILED, failed_stage="voice")

    html = admin_client.get(reverse("admin:pipeline_asset_changelist")).content.decode()
    assert "42%" in html
    assert "ph-badge" in html and "rendering" in html

    filtered = admin_client.get(reverse("admin:pipeline_asset_changelist") + "?failed_stage=voice")
    assert filtered.context["cl"].result_count == 1


def test_change_page_renders_script_media_and_history(admin_client):
    asset = make_asset()
    StageAttempt.objects.create(asset=asset, stage="render", number=1, provider="ffmpeg", outcome="succeeded")

    html = admin_client.get(reverse("admin:pipeline_asset_change", args=[asset.pk])).content.decode()
    assert f'src="/media/assets/{asset.pk}/video.mp4"' in html
    assert f'<audio controls preload="none" src="/media/assets/{asset.pk}/voice.mp3"' in html
    for hashtag in asset.script["hashtags"]:
        assert hashtag in html
    assert escape(asset.script["caption_lines"][0]) in html
    assert "Transition log" in html and "rendering" in html and "ffmpeg" in html


def test_editing_saves_only_changed_fields(admin_client, monkeypatch):
    asset = make_asset(Asset.State.RENDERING, title="Old")
    saves = []
    original_save = Asset.save

    def recording_save(self, *args, **kwargs):
        saves.append(kwargs.get("update_fields"))
        return original_save(self, *args, **kwargs)

    monkeypatch.setattr(Asset, "save", recording_save)
    empty_inlines = {f"{prefix}-{key}": 0 for prefix in ("publications", "transitions", "stage_attempts")
                     for key in ("TOTAL_FORMS", "INITIAL_FORMS")}
    response = admin_client.post(reverse("admin:pipeline_asset_change", args=[asset.pk]),
                                 {"title": "New", "channels": [], **empty_inlines})

    assert response.status_code == 302
    # A full save would write back whatever a worker changed while the page was open.
    assert saves == [["title", "updated_at"]]
    asset.refresh_from_db()
    assert (asset.title, asset.state) == ("New", Asset.State.RENDERING)
    event = AuditEvent.objects.get(action="edited")
    assert (event.actor_name, event.target_id, event.details["fields"]) == ("admin", str(asset.pk), ["title"])


def test_every_admin_page_renders(admin_client):
    from django.contrib import admin

    make_asset()
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert admin_client.get(url).status_code == 200, url
        if model_admin.has_add_permission(admin_client.get(url).wsgi_request):
            assert admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200


def test_editing_a_prompt_template_saves_a_new_version(admin_client):
    from pipeline.models import PromptTemplate

    v1 = PromptTemplate.objects.create(name="shorts", system_prompt="Be brief.")
    response = admin_client.post(reverse("admin:pipeline_prompttemplate_change", args=[v1.pk]), {
        "name": "shorts", "system_prompt": "Be briefer.", "style_guide": "", "model": "", "temperature": "",
        "is_active": "on",
    })
    assert response.status_code == 302
    v1.refresh_from_db()
    assert v1.system_prompt == "Be brief."
    assert list(PromptTemplate.objects.filter(name="shorts").values_list("version", "system_prompt")
                .order_by("version")) == [(1, "Be brief."), (2, "Be briefer.")]
