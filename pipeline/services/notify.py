"""Telling people what needs them: approvers when assets await review, operators when something needs
attention (an open dead letter, a publication in needs_attention).

Two steps, both run by the batch job every NOTIFY_BATCH_MINUTES (phantoms.cron):
`note_new()` writes a Notice for each thing not yet noted (unique per thing, so nothing is announced
twice and nothing is lost if a send fails: it stays unsent and goes with the next batch), and
`send_batch()` sends every unsent notice, one email per person for the whole batch (Django's mail
backends) and one post to the optional chat webhook, each with links to the pages.
"""

import logging
from collections import defaultdict

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from phantoms.engine.models import DeadLetter, TransitionLog
from pipeline.models import Asset, Notice
from publishing.models import Publication

logger = logging.getLogger("phantoms.notify")

# Who hears of each kind: holders of any of these permissions in the thing's team.
AUDIENCE = {
    Notice.Kind.AWAITING_REVIEW: ("pipeline.approve_asset",),
    Notice.Kind.DEAD_LETTER: ("engine.requeue_deadletter",),
    Notice.Kind.NEEDS_ATTENTION: ("publishing.resolve_publication",),
}


def _latest_entries(field: str, ids, state: str) -> dict[int, int]:
    """{object id: id of its latest transition into `state`}: tells a second wait for review from the first."""
    rows = (TransitionLog.objects.filter(**{f"{field}__in": list(ids)}, to_state=state)
            .values_list(field, "id").order_by(field, "id"))
    return {owner: log_id for owner, log_id in rows}


def note_new() -> int:
    """Write a Notice for each thing that needs someone and has none yet; returns how many were new."""
    notices = []
    waiting = dict(Asset.objects.filter(state=Asset.State.AWAITING_REVIEW).values_list("pk", "team_id"))
    titles = dict(Asset.objects.filter(pk__in=waiting).values_list("pk", "title"))
    for asset_id, log_id in _latest_entries("asset_id", waiting, Asset.State.AWAITING_REVIEW).items():
        notices.append(Notice(kind=Notice.Kind.AWAITING_REVIEW, key=f"asset:{asset_id}:{log_id}",
                              team_id=waiting[asset_id],
                              summary=f"Asset {asset_id} ({titles[asset_id] or 'untitled'}) awaits review",
                              link=reverse("admin:pipeline_asset_change", args=[asset_id])))
    for letter in DeadLetter.objects.filter(status=DeadLetter.Status.OPEN).select_related("asset"):
        first_line = (letter.error_message.splitlines() or [""])[0][:120]
        notices.append(Notice(kind=Notice.Kind.DEAD_LETTER, key=f"deadletter:{letter.pk}", team_id=letter.asset.team_id,
                              summary=f"Dead letter {letter.pk}: {letter.stage} of asset {letter.asset_id} "
                                      f"failed ({letter.error_class}: {first_line})",
                              link=reverse("admin:engine_deadletter_change", args=[letter.pk])))
    stuck = Publication.objects.filter(state=Publication.State.NEEDS_ATTENTION).select_related("asset", "channel")
    entries = _latest_entries("publication_id", [p.pk for p in stuck], Publication.State.NEEDS_ATTENTION)
    for publication in stuck:
        notices.append(Notice(kind=Notice.Kind.NEEDS_ATTENTION,
                              key=f"publication:{publication.pk}:{entries.get(publication.pk, 0)}",
                              team_id=publication.asset.team_id,
                              summary=f"Publication {publication.pk} of asset {publication.asset_id} on "
                                      f"{publication.channel} needs attention",
                              link=reverse("admin:publishing_publication_change", args=[publication.pk])))
    if not notices:
        return 0
    before = Notice.objects.count()
    Notice.objects.bulk_create(notices, ignore_conflicts=True)
    return Notice.objects.count() - before


def recipients(kind: str, team_id) -> list:
    """Active users with an email who hold the kind's permission (directly, by role, or as superusers) in the team."""
    perms = Q()
    for dotted in AUDIENCE[kind]:
        app_label, codename = dotted.split(".")
        perms |= Q(content_type__app_label=app_label, codename=codename)
    held = Permission.objects.filter(perms)
    users = (get_user_model().objects.filter(is_active=True).exclude(email="")
             .filter(Q(is_superuser=True) | Q(user_permissions__in=held) | Q(groups__permissions__in=held)))
    if team_id is not None:
        users = users.filter(Q(is_superuser=True) | Q(teams=team_id))
    return list(users.distinct().order_by("pk"))


def absolute(link: str) -> str:
    return f"{settings.PHANTOMS_PUBLIC_URL}{link}" if settings.PHANTOMS_PUBLIC_URL else link


def _body(notices) -> str:
    lines = []
    for kind, label in Notice.Kind.choices:
        mine = [notice for notice in notices if notice.kind == kind]
        if mine:
            lines.append(f"{label.capitalize()} ({len(mine)}):")
            lines += [f"- {notice.summary}\n  {absolute(notice.link)}" for notice in mine]
            lines.append("")
    return "\n".join(lines).strip() + "\n"


def _subject(notices) -> str:
    counts = defaultdict(int)
    for notice in notices:
        counts[notice.get_kind_display()] += 1
    return "Phantoms: " + ", ".join(f"{count} {label}" for label, count in counts.items())


def send_batch() -> dict:
    """Send every unsent notice: one email per person, one webhook post; returns what was sent."""
    with transaction.atomic():
        # Locked and skipped by a second sender running at the same moment: each notice goes once.
        pending = list(Notice.objects.select_for_update(skip_locked=True).filter(sent_at=None).order_by("id"))
        if not pending:
            return {"notices": 0, "emails": 0, "webhook": None}
        per_person = defaultdict(list)
        for notice in pending:
            for user in recipients(notice.kind, notice.team_id):
                per_person[user].append(notice)
        messages = [EmailMessage(_subject(notices), _body(notices), settings.DEFAULT_FROM_EMAIL, [user.email])
                    for user, notices in per_person.items()]
        sent = get_connection(fail_silently=False).send_messages(messages) if messages else 0
        webhook = post_webhook(pending) if settings.NOTIFY_WEBHOOK_URL else None
        now = timezone.now()
        mailed = defaultdict(list)
        for user, notices in per_person.items():
            for notice in notices:
                mailed[notice.pk].append(user.email)
        for notice in pending:
            notice.sent_at = now
            notice.delivery = {"emailed": mailed.get(notice.pk, []), "webhook": webhook}
        Notice.objects.bulk_update(pending, ["sent_at", "delivery"])
    return {"notices": len(pending), "emails": sent, "webhook": webhook}


def post_webhook(notices) -> str:
    """One post for the batch to the chat webhook ({"text": ...}, what Slack and Mattermost incoming
    webhooks take). A failure is recorded, not raised: the email already went, and the next batch
    must not resend it."""
    text = _subject(notices) + "\n" + _body(notices)
    try:
        response = httpx.post(settings.NOTIFY_WEBHOOK_URL, json={"text": text}, timeout=10.0)
    except httpx.HTTPError as exc:
        logger.warning("notification webhook failed: %s", exc)
        return f"failed: {exc.__class__.__name__}"
    if response.status_code >= 400:
        logger.warning("notification webhook answered %s: %s", response.status_code, response.text[:200])
        return f"failed: HTTP {response.status_code}"
    return "sent"


def notify() -> dict:
    """The batch job: note what is new, then send everything unsent."""
    noted = note_new()
    return {"noted": noted, **send_batch()}
