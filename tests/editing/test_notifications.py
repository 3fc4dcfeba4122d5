"""Approvers hear of assets awaiting review and operators of what needs attention: batched, once, with links."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from phantoms.engine.transitions import transit
from pipeline.models import Asset, Notice
from pipeline.services.notify import notify
from publishing.models import Publication
from tests.admin.factories import make_asset, make_channel, make_dead_letter, make_publication, make_staff
from tests.factories import make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat(settings):
    """A chat webhook receiver on loopback (an incoming-webhook endpoint answering "ok")."""
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hooks/phantoms"
    yield received
    server.shutdown()
    server.server_close()


def people():
    made = [make_staff("ann", roles=["approver"]), make_staff("otto", roles=["operator"]),
            make_staff("olga", roles=["approver", "operator"], teams=[make_team("Other")]),
            make_staff("nomail", roles=["approver"])]
    for user in made[:3]:
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    return made


def test_one_message_per_person_per_batch_with_links(settings, chat):
    settings.PHANTOMS_PUBLIC_URL = "https://phantoms.example"
    people()
    first, second = make_asset(title="Hearts"), make_asset(title="Gills")
    letter = make_dead_letter(make_asset(Asset.State.FAILED, failed_stage="voice"), stage="voice")
    publication = make_publication(first, make_channel("tiktok"), state=Publication.State.NEEDS_ATTENTION)

    result = notify()

    assert result["noted"] == 4 and result["notices"] == 4 and result["webhook"] == "sent"
    by_person = {message.to[0]: message for message in mail.outbox}
    assert sorted(by_person) == ["ann@example.com", "otto@example.com"]  # one each; the other team hears nothing
    ann = by_person["ann@example.com"].body
    assert f"https://phantoms.example/admin/pipeline/asset/{first.pk}/change/" in ann
    assert f"/admin/pipeline/asset/{second.pk}/change/" in ann and "Dead letter" not in ann
    otto = by_person["otto@example.com"]
    assert f"https://phantoms.example/admin/engine/deadletter/{letter.pk}/change/" in otto.body
    assert f"/admin/publishing/publication/{publication.pk}/change/" in otto.body
    assert otto.subject == "Phantoms: 1 dead letter, 1 publication needs attention"
    assert len(chat) == 1 and "2 awaiting review" in chat[0]["text"]


def test_nothing_is_announced_twice_and_a_new_wait_is_announced_again(chat):
    people()
    asset = make_asset()
    notify()
    assert len(mail.outbox) == 1
    assert notify() == {"noted": 0, "notices": 0, "emails": 0, "webhook": None}
    assert len(mail.outbox) == 1 and len(chat) == 1

    # Sent back, rewritten, and awaiting review again: that is news.
    for name in ("send_back", "script_done", "voice_done", "visuals_done", "render_done"):
        transit(asset, name, reason="test")
    asset.save()
    assert notify()["noted"] == 1 and len(mail.outbox) == 2


def test_a_failing_webhook_does_not_lose_or_repeat_the_email(settings):
    people()
    settings.NOTIFY_WEBHOOK_URL = "http://127.0.0.1:9/unreachable"
    make_asset()
    result = notify()
    assert result["emails"] == 1 and result["webhook"].startswith("failed")
    notice = Notice.objects.get()
    assert notice.sent_at is not None and notice.delivery["emailed"] == ["ann@example.com"]
    assert notify()["emails"] == 0
