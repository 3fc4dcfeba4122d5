"""Every state machine edge: allowed sources move, others raise; the state field is protected."""

import pytest
from django_fsm import TransitionNotAllowed, can_proceed, has_transition_perm

from phantoms.engine.models import TransitionLog
from phantoms.engine.transitions import transit
from pipeline.models import Asset
from publishing.models import Publication
from tests.factories import advance, make_asset, make_channel, make_publication_in, make_user

A = Asset.State
P = Publication.State

# transition -> (allowed sources, target, a source it must refuse)
ASSET_EDGES = {
    "submit": ([A.DRAFT], A.SCRIPTING, A.SCRIPTING),
    "script_done": ([A.SCRIPTING], A.VOICING, A.DRAFT),
    "voice_done": ([A.VOICING], A.VISUALIZING, A.SCRIPTING),
    "visuals_done": ([A.VISUALIZING], A.RENDERING, A.VOICING),
    "render_done": ([A.RENDERING], A.AWAITING_REVIEW, A.VOICING),
    "approve": ([A.AWAITING_REVIEW], A.APPROVED, A.RENDERING),
    "reject": ([A.AWAITING_REVIEW], A.REJECTED, A.APPROVED),
    "send_back": ([A.AWAITING_REVIEW], A.SCRIPTING, A.REJECTED),
    "start_publishing": ([A.APPROVED, A.PARTIALLY_PUBLISHED, A.FAILED], A.PUBLISHING, A.AWAITING_REVIEW),
    "publish_done": ([A.PUBLISHING], A.PUBLISHED, A.APPROVED),
    "publish_partly": ([A.PUBLISHING], A.PARTIALLY_PUBLISHED, A.PUBLISHED),
    "fail": ([A.SCRIPTING, A.VOICING, A.VISUALIZING, A.RENDERING, A.PUBLISHING], A.FAILED, A.AWAITING_REVIEW),
    "cancel": ([A.DRAFT, A.SCRIPTING, A.VOICING, A.VISUALIZING, A.RENDERING, A.AWAITING_REVIEW, A.APPROVED,
                A.FAILED], A.CANCELLED, A.PUBLISHING),
}

PUBLICATION_EDGES = {
    "begin_upload": ([P.PENDING, P.UPLOADING], P.UPLOADING, P.PROCESSING),
    "uploaded": ([P.PENDING, P.UPLOADING, P.NEEDS_ATTENTION], P.PROCESSING, P.PUBLISHED),
    "went_live": ([P.PROCESSING], P.PUBLISHED, P.UPLOADING),
    "fail": ([P.PENDING, P.UPLOADING, P.PROCESSING], P.FAILED, P.PUBLISHED),
    "needs_attention": ([P.PENDING, P.UPLOADING], P.NEEDS_ATTENTION, P.PROCESSING),
    "retry": ([P.FAILED, P.NEEDS_ATTENTION], P.PENDING, P.PUBLISHED),
}


def asset_in(state, **fields) -> Asset:
    """An unsaved asset already in `state` (a protected field may be set once, at construction).

    Its team is named so that making it reads no database (the default team is looked up)."""
    return Asset(brief="b", state=state, team_id=fields.pop("team_id", 1), **fields)


def publication_in(state) -> Publication:
    return Publication(state=state)


@pytest.mark.parametrize(("name", "source", "target"), [
    (name, source, target) for name, (sources, target, _) in ASSET_EDGES.items() for source in sources
])
def test_asset_transition_from_each_allowed_source(name, source, target):
    asset = asset_in(source)
    assert can_proceed(getattr(asset, name))
    getattr(asset, name)()
    assert asset.state == target


@pytest.mark.parametrize("name", list(ASSET_EDGES) + ["resume"])
def test_asset_transition_from_a_disallowed_source_raises(name):
    bad = ASSET_EDGES[name][2] if name != "resume" else A.SCRIPTING
    asset = asset_in(bad)
    assert not can_proceed(getattr(asset, name))
    with pytest.raises(TransitionNotAllowed):
        getattr(asset, name)()
    assert asset.state == bad


@pytest.mark.parametrize("terminal", [A.PUBLISHED, A.REJECTED, A.CANCELLED])
def test_finished_assets_have_no_way_out(terminal):
    asset = asset_in(terminal)
    for name in [*ASSET_EDGES, "resume"]:
        assert not can_proceed(getattr(asset, name)), name


@pytest.mark.parametrize(("failed_stage", "target"), [
    ("script", A.SCRIPTING), ("voice", A.VOICING), ("visuals", A.VISUALIZING), ("render", A.RENDERING),
    ("publish", A.PUBLISHING),
    ("", A.SCRIPTING),
])
def test_resume_returns_to_the_stage_it_failed_in(failed_stage, target):
    asset = asset_in(A.FAILED, failed_stage=failed_stage)
    asset.resume()
    assert asset.state == target


@pytest.mark.parametrize(("name", "source", "target"), [
    (name, source, target) for name, (sources, target, _) in PUBLICATION_EDGES.items() for source in sources
])
def test_publication_transition_from_each_allowed_source(name, source, target):
    publication = publication_in(source)
    getattr(publication, name)()
    assert publication.state == target


@pytest.mark.parametrize("name", list(PUBLICATION_EDGES))
def test_publication_transition_from_a_disallowed_source_raises(name):
    bad = PUBLICATION_EDGES[name][2]
    publication = publication_in(bad)
    with pytest.raises(TransitionNotAllowed):
        getattr(publication, name)()
    assert publication.state == bad


def test_published_publication_is_final():
    publication = publication_in(P.PUBLISHED)
    assert not any(can_proceed(getattr(publication, name)) for name in PUBLICATION_EDGES)


def test_state_fields_are_protected():
    asset = asset_in(A.DRAFT)
    with pytest.raises(AttributeError):
        asset.state = A.PUBLISHED
    assert asset.state == A.DRAFT
    publication = publication_in(P.PENDING)
    with pytest.raises(AttributeError):
        publication.state = P.PUBLISHED
    assert publication.state == P.PENDING


@pytest.mark.django_db
def test_saved_state_survives_a_reload_and_stays_protected():
    asset = make_asset(A.RENDERING)
    advance(asset, "render_done")
    asset.refresh_from_db()
    assert asset.state == A.AWAITING_REVIEW
    assert Asset.objects.get(pk=asset.pk).state == A.AWAITING_REVIEW
    with pytest.raises(AttributeError):
        asset.state = A.APPROVED


@pytest.mark.django_db
def test_transit_records_from_to_actor_and_reason():
    user = make_user("ines")
    asset = make_asset(A.AWAITING_REVIEW)
    before = TransitionLog.objects.count()

    transit(asset, "send_back", by=user, reason="make the hook shorter")
    asset.save()
    transit(asset, "fail", actor="worker-7", reason="x" * 6000)
    asset.save()
    transit(asset, "resume")
    asset.save()

    logs = list(TransitionLog.objects.filter(asset=asset).order_by("id"))[-3:]
    assert TransitionLog.objects.count() == before + 3
    first, second, third = logs
    assert (first.from_state, first.to_state) == ("awaiting_review", "scripting")
    assert first.by == user and first.actor == "ines" and first.reason == "make the hook shorter"
    assert first.publication is None
    assert (second.from_state, second.to_state, second.actor, second.by) == ("scripting", "failed", "worker-7",
                                                                             None)
    assert len(second.reason) == 5000
    assert (third.from_state, third.to_state, third.actor) == ("failed", "scripting", "system")
    assert first.at is not None and first.at <= third.at


@pytest.mark.django_db
def test_transit_on_a_publication_records_both_rows():
    asset = make_asset(A.DRAFT)
    publication = make_publication_in(asset, make_channel("tiktok"), P.UPLOADING)
    transit(publication, "needs_attention", actor="worker", reason="timed out after sending")
    publication.save()
    log = TransitionLog.objects.filter(publication=publication).last()
    assert log.asset == asset
    assert (log.from_state, log.to_state, log.reason) == ("uploading", "needs_attention", "timed out after sending")
    assert Publication.objects.get(pk=publication.pk).state == P.NEEDS_ATTENTION


@pytest.mark.django_db
def test_transit_that_is_not_allowed_records_nothing():
    asset = make_asset(A.SCRIPTING)
    count = TransitionLog.objects.filter(asset=asset).count()
    with pytest.raises(TransitionNotAllowed):
        transit(asset, "approve", actor="someone")
    assert TransitionLog.objects.filter(asset=asset).count() == count
    assert asset.state == A.SCRIPTING


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "permission"), [("approve", "pipeline.approve_asset"),
                                                ("reject", "pipeline.reject_asset"),
                                                ("send_back", "pipeline.reject_asset")])
def test_review_transitions_need_the_review_permission(name, permission):
    asset = asset_in(A.AWAITING_REVIEW)
    plain = make_user()
    reviewer = make_user(perms=[permission])
    admin = make_user(is_superuser=True)
    assert not has_transition_perm(getattr(asset, name), plain)
    assert has_transition_perm(getattr(asset, name), reviewer)
    assert has_transition_perm(getattr(asset, name), admin)


@pytest.mark.django_db
def test_transitions_without_a_permission_are_open_to_any_user():
    plain = make_user()
    assert has_transition_perm(asset_in(A.DRAFT).submit, plain)
    # Cancelling is an edit: it needs the change permission.
    assert not has_transition_perm(asset_in(A.SCRIPTING).cancel, plain)
    assert has_transition_perm(asset_in(A.SCRIPTING).cancel, make_user(perms=["pipeline.change_asset"]))
    # ...but a permission does not make a transition possible from the wrong state.
    reviewer = make_user(perms=["pipeline.approve_asset"])
    assert not has_transition_perm(asset_in(A.RENDERING).approve, reviewer)


@pytest.mark.django_db
def test_transitions_recorded_together_land_in_one_insert_in_order(django_assert_num_queries):
    from phantoms.engine.transitions import recorded_together

    asset = make_asset(A.RENDERING)
    with django_assert_num_queries(1), recorded_together():
        transit(asset, "render_done", actor="worker")
        transit(asset, "approve", actor="worker", reason="auto-approved")
        transit(asset, "start_publishing", actor="worker")
    logs = TransitionLog.objects.filter(asset=asset).order_by("at", "id")
    assert [(log.from_state, log.to_state, log.reason) for log in logs][-3:] == [
        (A.RENDERING, A.AWAITING_REVIEW, ""), (A.AWAITING_REVIEW, A.APPROVED, "auto-approved"),
        (A.APPROVED, A.PUBLISHING, "")]


@pytest.mark.django_db
def test_a_block_that_raises_records_nothing():
    from phantoms.engine.transitions import recorded_together

    asset = make_asset(A.RENDERING)
    before = TransitionLog.objects.filter(asset=asset).count()
    with pytest.raises(TransitionNotAllowed), recorded_together():
        transit(asset, "render_done", actor="worker")
        transit(asset, "publish_done", actor="worker")  # not from awaiting_review
    assert TransitionLog.objects.filter(asset=asset).count() == before
    # Outside a block, each transition is written at once.
    transit(asset, "approve", actor="worker")
    assert TransitionLog.objects.filter(asset=asset).count() == before + 1
