"""Moving the records into the engine loses nothing: rows, links between them, and permissions survive."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from phantoms.engine.models import BreakerEvent, DeadLetter, StageAttempt, TransitionLog
from pipeline.models import Asset

BEFORE_THE_MOVE = [("pipeline", "0003_attempt_started_default"), ("phantoms", "0001_initial"), ("engine", None)]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    # The models as the applied migrations define them: the database as it was before the move.
    return MigrationExecutor(connection)._create_project_state(with_applied_migrations=True).apps


@pytest.mark.django_db(transaction=True)
def test_a_database_with_records_migrates_into_the_engine_whole():
    old = migrate(BEFORE_THE_MOVE)
    OldAsset = old.get_model("pipeline", "Asset")
    OldChannel = old.get_model("publishing", "Channel")
    OldPublication = old.get_model("publishing", "Publication")
    OldTransition = old.get_model("pipeline", "TransitionLog")
    OldAttempt = old.get_model("pipeline", "StageAttempt")
    OldLetter = old.get_model("pipeline", "DeadLetter")
    OldBreakerEvent = old.get_model("phantoms", "BreakerEvent")
    ContentType = old.get_model("contenttypes", "ContentType")
    Permission = old.get_model("auth", "Permission")
    User = old.get_model("auth", "User")

    now = timezone.now()
    operator = User.objects.create(username="operator")
    letter_type = ContentType.objects.get(app_label="pipeline", model="deadletter")
    operator.user_permissions.add(Permission.objects.get(content_type=letter_type, codename="requeue_deadletter"))
    channel = OldChannel.objects.create(platform="youtube", name="Main", account_id="UC1")
    assets = [OldAsset.objects.create(brief=f"brief {n}", state="failed", failed_stage="voice") for n in range(3)]
    publication = OldPublication.objects.create(asset=assets[0], channel=channel, state="failed")
    for asset in assets:
        OldTransition.objects.create(asset=asset, from_state="voicing", to_state="failed", actor="worker",
                                     reason="espeak crashed")
        OldAttempt.objects.create(asset=asset, stage="voice", number=4, outcome="transient", error="boom")
    OldAttempt.objects.create(asset=assets[0], publication=publication, stage="publish", number=1,
                              outcome="permanent")
    OldLetter.objects.create(asset=assets[0], publication=publication, stage="publish", queue="publish",
                             platform="youtube", error_class="permanent", error_message="rejected",
                             first_failed_at=now, last_failed_at=now)
    OldLetter.objects.create(asset=assets[1], stage="voice", queue="voice", error_class="transient",
                             error_message="boom", attempts=4, first_failed_at=now, last_failed_at=now)
    OldBreakerEvent.objects.create(name="youtube", from_state="closed", to_state="open", error="503")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert TransitionLog.objects.count() == 3
    assert StageAttempt.objects.count() == 4
    assert set(StageAttempt.objects.filter(stage="publish").values_list("publication_id", flat=True)) == {
        publication.pk}
    letters = {letter.stage: letter for letter in DeadLetter.objects.select_related("asset", "publication")}
    assert letters["publish"].publication_id == publication.pk and letters["publish"].platform == "youtube"
    assert letters["voice"].asset.brief == "brief 1" and letters["voice"].attempts == 4
    assert Asset.objects.get(pk=assets[2].pk).transitions.get().reason == "espeak crashed"
    assert BreakerEvent.objects.get().to_state == "open"
    # A permission granted on the old record is the engine's permission now.
    assert get_user_model().objects.get(pk=operator.pk).has_perm("engine.requeue_deadletter")
