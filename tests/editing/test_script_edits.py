"""Editing a script before approval re-runs only what the change invalidates, and keeps every version."""

import copy

import pytest

from accounts.models import AuditEvent
from phantoms.engine.models import TransitionLog
from pipeline.models import Asset, ScriptVersion
from pipeline.selectors import script_diff
from pipeline.services.edits import EditError
from pipeline.services.script_edits import invalidated_stage, revise_script
from tests.admin.conftest import queued
from tests.admin.factories import make_asset, make_staff

pytestmark = pytest.mark.django_db


def edited(asset, change):
    script = copy.deepcopy(asset.script)
    change(script)
    return script


@pytest.mark.parametrize("change,stage", [
    (lambda s: s.update(hook="A brand new hook."), "voice"),
    (lambda s: s["beats"][0].update(narration="Different words entirely."), "voice"),
    (lambda s: s["beats"].pop(), "voice"),
    (lambda s: s["beats"][0].update(visual_query="ocean waves at night"), "visuals"),
    (lambda s: s["beats"][0].update(on_screen="A new headline"), "render"),
    (lambda s: s.update(caption_lines=["One line", "and another"]), "render"),
    (lambda s: s.update(title="A different title card"), "render"),
    (lambda s: s.update(description="Only the description."), None),
    (lambda s: s.update(hashtags=["#octopus"]), None),
])
def test_each_change_invalidates_its_first_stage(change, stage):
    asset = make_asset()
    asset.script["beats"][0]["visual_query"] = "octopus heart"  # so the headline is not what visuals search by
    assert invalidated_stage(asset.script, edited(asset, change)) == stage


def test_a_headline_without_its_own_visual_query_re_fetches_visuals():
    asset = make_asset()
    asset.script["beats"][0]["visual_query"] = ""
    headline = edited(asset, lambda s: s["beats"][0].update(on_screen="Gills"))
    assert invalidated_stage(asset.script, headline) == "visuals"


def test_new_words_send_the_asset_back_to_the_voice_and_record_who(transactional_db):
    editor = make_staff(perms=["pipeline.view_asset", "pipeline.change_asset"])
    asset = make_asset(render_progress=1.0)
    original = copy.deepcopy(asset.script)

    asset, stage = revise_script(asset.pk, script=edited(asset, lambda s: s.update(hook="Octopuses: three hearts.")),
                                 user=editor)

    asset.refresh_from_db()
    assert stage == "voice" and asset.state == Asset.State.VOICING
    assert asset.script["hook"] == "Octopuses: three hearts." and asset.render_progress == 0
    assert queued("voice") == 1 and queued("render") == 0
    log = TransitionLog.objects.filter(asset_id=asset.pk).latest("id")
    assert (log.from_state, log.to_state, log.by) == ("awaiting_review", "voicing", editor)
    event = AuditEvent.objects.get(action=AuditEvent.Action.EDITED, target_id=str(asset.pk))
    assert event.actor == editor and event.details["fields"] == ["script.hook"] and event.details["reruns"] == "voice"
    versions = list(ScriptVersion.objects.filter(asset=asset).order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].script == original and versions[1].script["hook"] == "Octopuses: three hearts."
    assert versions[1].created_by == editor and versions[1].changed == ["hook"]


def test_caption_lines_only_re_render(transactional_db):
    asset = make_asset()
    asset, stage = revise_script(asset.pk, script=edited(asset, lambda s: s.update(caption_lines=["Three", "hearts"])))
    asset.refresh_from_db()
    assert stage == "render" and asset.state == Asset.State.RENDERING
    assert queued("render") == 1 and queued("voice") == 0 and queued("visuals") == 0


def test_description_and_hashtags_re_run_nothing():
    asset = make_asset()
    asset, stage = revise_script(asset.pk, script=edited(asset, lambda s: s.update(description="New words.",
                                                                                  hashtags=["#sea", "heart"])))
    asset.refresh_from_db()
    assert stage is None and asset.state == Asset.State.AWAITING_REVIEW
    assert asset.script["hashtags"] == ["#sea", "#heart"]
    assert sum(queued(name) for name in ("voice", "visuals", "render")) == 0


def test_bad_input_names_the_field_and_changes_nothing():
    asset = make_asset()
    before = copy.deepcopy(asset.script)
    with pytest.raises(EditError) as caught:
        revise_script(asset.pk, script=edited(asset, lambda s: s.update(hook="")))
    assert caught.value.field == "script.hook"
    with pytest.raises(EditError) as caught:
        revise_script(asset.pk, script=edited(asset, lambda s: s["beats"][0].update(narration="")))
    assert caught.value.field == "script.beats.0.narration"
    asset.refresh_from_db()
    assert asset.script == before and not ScriptVersion.objects.filter(asset=asset).exists()


def test_only_an_asset_awaiting_review_is_edited():
    asset = make_asset(Asset.State.RENDERING)
    with pytest.raises(EditError, match="only while the asset awaits review"):
        revise_script(asset.pk, script=edited(asset, lambda s: s.update(hook="Too late.")))


def test_two_versions_compare_line_by_line():
    old = {"title": "T", "hook": "Old hook.", "beats": [{"on_screen": "A", "narration": "Same.", "visual_query": ""}],
           "caption_lines": ["Old hook."], "description": "D", "hashtags": ["#a"]}
    new = copy.deepcopy(old)
    new["hook"] = "New hook."
    new["hashtags"] = ["#a", "#b"]
    rows = script_diff(old, new)
    changed = [(row["field"], row["old"], row["new"]) for row in rows if row["kind"] != "same"]
    assert ("Hook", "Old hook.", "New hook.") in changed
    assert ("Hashtags", "#a", "#a #b") in changed
    assert all(row["kind"] == "same" for row in rows if row["field"].startswith("Beat 1"))


@pytest.mark.django_db(transaction=True)
def test_every_script_the_writer_produces_is_a_version_and_an_edit_follows_it(settings):
    from phantoms.engine import runner
    from pipeline.services.review import reject_asset
    from pipeline.stages import STAGES

    settings.RATE_LIMITS = {}
    asset = make_asset(Asset.State.SCRIPTING, brief="A one-minute stretch for people who sit all day")
    assert runner.run(STAGES["script"], asset.pk) == "succeeded"
    Asset.objects.filter(pk=asset.pk).update(state=Asset.State.AWAITING_REVIEW)
    reject_asset(asset.pk, notes="Open with the posture problem.", rewrite=True)
    assert runner.run(STAGES["script"], asset.pk) == "succeeded"
    Asset.objects.filter(pk=asset.pk).update(state=Asset.State.AWAITING_REVIEW)
    asset.refresh_from_db()
    revise_script(asset.pk, script=edited(asset, lambda s: s.update(description="Edited.")))

    versions = list(ScriptVersion.objects.filter(asset=asset).order_by("number"))
    assert [(v.number, v.author, v.changed) for v in versions] == [
        (1, "offline", []), (2, "offline", []), (3, "system", ["description"])]
    assert "posture" in versions[1].script["hook"].lower() and versions[0].script["hook"] != versions[1].script["hook"]
