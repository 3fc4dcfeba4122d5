"""The editor's pages: edit the script, compare versions, per-platform copy with its limits and preview."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from accounts.models import AuditEvent
from pipeline.models import Asset, ScriptVersion
from pipeline.selectors import platform_copy
from pipeline.services.edits import EditError
from pipeline.services.platform_copy import save_platform_copy
from publishing import platforms
from publishing.models import PlatformCopy
from publishing.platform_limits import LIMITS, compose, measure
from tests.admin.conftest import queued, texts
from tests.admin.factories import make_asset, make_channel, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client):
    client.force_login(make_staff(roles=["editor"]))
    return client


def script_post(asset, **changes):
    script = asset.script
    data = {"title": script["title"], "hook": script["hook"], "caption_lines": "\n".join(script["caption_lines"]),
            "description": script["description"], "hashtags": " ".join(script["hashtags"]),
            "beats-TOTAL_FORMS": len(script["beats"]), "beats-INITIAL_FORMS": len(script["beats"]),
            "beats-MIN_NUM_FORMS": 1, "beats-MAX_NUM_FORMS": 12}
    for i, beat in enumerate(script["beats"]):
        for key in ("on_screen", "narration", "visual_query"):
            data[f"beats-{i}-{key}"] = beat.get(key, "")
    data.update(changes)
    return data


def test_the_editor_changes_a_caption_line_and_only_the_render_runs_again(editor_client, transactional_db):
    asset = make_asset()
    url = reverse("admin:pipeline_asset_script", args=[asset.pk])
    page = editor_client.get(url).content.decode()
    assert escape(asset.script["hook"]) in page and 'name="beats-0-narration"' in page

    response = editor_client.post(url, script_post(asset, caption_lines="Three hearts\nand blue blood"), follow=True)

    asset.refresh_from_db()
    assert asset.state == Asset.State.RENDERING and asset.script["caption_lines"] == ["Three hearts", "and blue blood"]
    assert queued("render") == 1 and queued("voice") == 0
    assert any("the render will run again" in text for text in texts(response))
    assert ScriptVersion.objects.filter(asset=asset).count() == 2


def test_a_blank_narration_is_refused_on_the_form_and_nothing_changes(editor_client):
    asset = make_asset()
    before = asset.script
    response = editor_client.post(reverse("admin:pipeline_asset_script", args=[asset.pk]),
                                  script_post(asset, **{"beats-0-narration": ""}))
    assert response.status_code == 200 and "This field is required." in response.content.decode()
    asset.refresh_from_db()
    assert asset.script == before and asset.state == Asset.State.AWAITING_REVIEW


def test_the_versions_page_shows_the_difference(editor_client, transactional_db):
    asset = make_asset()
    editor_client.post(reverse("admin:pipeline_asset_script", args=[asset.pk]),
                       script_post(asset, description="A sharper description."))
    html = editor_client.get(reverse("admin:pipeline_asset_versions", args=[asset.pk])).content.decode()
    assert "v1 → v2" in html and 'class="ph-diff-changed"><th>Description</th>' in html
    assert "A sharper description." in html


def test_platform_copy_falls_back_to_the_script_and_applies_overrides():
    asset = make_asset(title="Three hearts")
    script = asset.script
    assert platform_copy(asset, "youtube") == ("Three hearts", script["description"], script["hashtags"])
    assert platform_copy(asset, "x")[1] == "Three hearts" and platform_copy(asset, "x")[2] == script["hashtags"][:3]

    save_platform_copy(asset.pk, "tiktok", title="", caption="Why three hearts? 🐙", hashtags=["#octopus", "#fyp"])
    asset = Asset.objects.get(pk=asset.pk)
    assert platform_copy(asset, "tiktok") == ("Three hearts", "Why three hearts? 🐙", ["#octopus", "#fyp"])
    assert platform_copy(asset, "youtube")[1] == script["description"]  # the other platforms are untouched
    # Saving what the script already says stores nothing, so later script edits still flow through.
    save_platform_copy(asset.pk, "tiktok", title="", caption="Three hearts", hashtags=script["hashtags"])
    assert not PlatformCopy.objects.filter(asset=asset).exists()


def test_copy_over_a_platform_limit_is_refused_with_the_field_and_limit():
    asset = make_asset()
    with pytest.raises(EditError) as caught:
        save_platform_copy(asset.pk, "x", title="", caption="x" * 270, hashtags=["#octopus", "#hearts"])
    assert caught.value.field == "x.caption" and "allows 280" in caught.value.problem
    with pytest.raises(EditError) as caught:
        save_platform_copy(asset.pk, "instagram", title="", caption="ok", hashtags=[f"#t{i}" for i in range(31)])
    assert caught.value.field == "instagram.hashtags" and "allows 30" in caught.value.problem
    with pytest.raises(EditError) as caught:
        save_platform_copy(asset.pk, "youtube", title="y" * 101, caption="ok", hashtags=[])
    assert caught.value.field == "youtube.title"
    assert not PlatformCopy.objects.exists()


def test_limits_count_what_the_platform_counts():
    assert measure("🐙", "characters") == 2 and measure("é", "bytes") == 2
    assert compose("youtube", "Hearts", ["#sea"]) == "Hearts\n\n#sea #Shorts"
    assert compose("x", "Hearts", ["#sea"]) == "Hearts #sea"
    assert LIMITS["x"].text == 280 and LIMITS["instagram"].hashtags == 30 and LIMITS["youtube"].title == 100


def test_the_platforms_page_previews_and_saves_per_channel(editor_client):
    asset = make_asset(channels=[make_channel("youtube"), make_channel("x")])
    url = reverse("admin:pipeline_asset_platforms", args=[asset.pk])
    html = editor_client.get(url).content.decode()
    assert 'id="platform-youtube"' in html and 'id="platform-x"' in html and 'id="platform-tiktok"' not in html
    assert 'data-text-limit="280"' in html and "pipeline/platform_copy" in html and "ph-phone--x" in html

    response = editor_client.post(url, {"platform": "x", "x-title": "", "x-caption": "Three hearts, blue blood.",
                                        "x-hashtags": "octopus"}, follow=True)
    assert any("X: saved." in text for text in texts(response))
    assert platform_copy(Asset.objects.get(pk=asset.pk), "x")[1:] == ("Three hearts, blue blood.", ["#octopus"])
    event = AuditEvent.objects.filter(action=AuditEvent.Action.EDITED).latest("id")
    assert event.details["fields"] == ["x.caption", "x.hashtags"]

    refused = editor_client.post(url, {"platform": "x", "x-caption": "y" * 300, "x-hashtags": ""}, follow=True)
    assert any("Not saved: x.caption" in text for text in texts(refused))


def test_approving_leaves_the_message_on_screen(admin_client, transactional_db):
    asset = make_asset(channels=[make_channel("youtube")])
    response = admin_client.post(reverse("admin:pipeline_asset_transition", args=[asset.pk, "approve"]), follow=True)
    html = response.content.decode()
    assert '<ul class="messagelist">' in html and "is now publishing" in html
    assert "phantoms/messages" in html  # the sticky list: the message stays in the window while scrolling


class ShortFormAdapter:
    """A platform registered without a row in the limits table: its adapter's attributes are its limits."""

    title_limit = 80
    caption_limit = 500
    max_hashtags = 5


def test_a_newly_registered_platform_takes_its_adapters_limits():
    from publishing.platform_limits import limits_for
    from publishing.platforms import registry

    registry.register("shortform", "Short Form", f"{__name__}.ShortFormAdapter", production_url="https://short.example")
    try:
        limits = limits_for("shortform")
        assert (limits.label, limits.title, limits.text, limits.hashtags) == ("Short Form", 80, 500, 5)
        asset = make_asset()
        with pytest.raises(EditError) as caught:
            save_platform_copy(asset.pk, "shortform", title="", caption="ok", hashtags=[f"#t{i}" for i in range(6)])
        assert caught.value.field == "shortform.hashtags" and "allows 5" in caught.value.problem
    finally:
        registry.unregister("shortform")
    with pytest.raises(EditError, match="unknown platform"):
        save_platform_copy(make_asset().pk, "shortform", title="", caption="ok", hashtags=[])


def test_the_words_an_editor_sets_for_a_platform_are_the_words_its_adapter_sends():
    asset = make_asset(title="Three hearts")
    youtube = platforms.adapter_for(make_channel(platform="youtube", name="yt"))
    tiktok = platforms.adapter_for(make_channel(platform="tiktok", name="tt"))
    before = tiktok.copy(asset)
    save_platform_copy(asset.pk, "tiktok", title="", caption="Why three hearts? 🐙", hashtags=["#octopus", "#fyp"])
    asset = Asset.objects.get(pk=asset.pk)

    sent = tiktok.copy(asset)
    assert sent != before and "Why three hearts? 🐙" in sent.caption and sent.hashtags == ["#octopus", "#fyp"]
    # Another platform keeps the script's words.
    assert youtube.copy(asset).description == asset.script["description"]
