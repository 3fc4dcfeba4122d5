"""The editor's tour in a real headless Chromium (the OS package, driven by Selenium; no browser download).

Signs in on a live server, and on every page finds no console error and no failed request; watches
an asset's progress change without a reload; edits a caption for one platform with its phone preview
following the typing; schedules a post, finds it on the calendar and drags it to another day.
With PHANTOMS_SCREENSHOTS=1 the screenshots go to docs/screenshots/ (shown in the README).
"""

import json
import os
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test.testcases import LiveServerThread
from django.utils import timezone

from phantoms.engine.models import StageAttempt
from pipeline.media.ffmpeg import ffmpeg_exe
from pipeline.models import Asset
from pipeline.script_format import compose_template_script
from pipeline.selectors import platform_copy
from publishing.models import Publication
from tests.factories import advance, make_channel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# PHANTOMS_SCREENSHOTS=1 writes the screenshots into the docs (the README shows them); otherwise they
# go to the test's temporary folder, so a test run leaves the working tree as it was.
DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "tour-password-1"


@pytest.fixture
def live_site(transactional_db, settings):
    """The whole site on a live server as production serves it: static files through WhiteNoise.

    (pytest-django's `live_server` puts Django's finder-based static handler in front, which knows
    nothing of the content-hashed names the pages link to.)
    """
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    thread = LiveServerThread("localhost", static_handler=lambda app: app)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://localhost:{thread.port}"
    thread.terminate()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), (
        "the tour needs Chromium from the OS packages: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1600,1000",
                     "--disable-gpu", "--no-first-run", "--disable-extensions", "--mute-audio"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


class Tour:
    """The browser on the live server, checking each page for console errors and failed requests."""

    def __init__(self, driver, base_url: str, shots: Path):
        self.driver = driver
        self.shots = shots
        self.base = base_url
        self.pages = []

    def visit(self, path: str):
        self.driver.get(self.base + path)
        self.wait_for("return document.readyState === 'complete'")
        self.pages.append(path)

    def wait_for(self, script: str, timeout: float = 20.0, *args):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.driver.execute_script(script, *args):
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for: {script}")

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        return self.find(css).text

    def shot(self, name: str):
        self.shots.mkdir(parents=True, exist_ok=True)
        assert self.driver.save_screenshot(str(self.shots / f"{name}.png"))

    def problems(self) -> list[str]:
        """Console errors and failed requests since the last call."""
        found = [f"console: {entry['message']}" for entry in self.driver.get_log("browser")
                 if entry["level"] == "SEVERE"]
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message["method"] == "Network.responseReceived":
                response = params["response"]
                # 286 is htmx's "stop polling" answer, not a failure.
                if response["status"] >= 400:
                    found.append(f"{response['status']} {response['url']}")
            elif message["method"] == "Network.loadingFailed" and not params.get("canceled"):
                found.append(f"failed: {params.get('errorText')} ({params.get('type')})")
        return found


def make_video(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=270x480:rate=15", "-t", "2",
                    "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(path)], check=True)


@pytest.fixture
def world(settings):
    """An approver-editor, two channels (one with posting slots), an asset to review and one rendering."""
    user = get_user_model().objects.create_superuser("editor-in-chief", "chief@example.com", PASSWORD)
    youtube = make_channel("youtube", name="Science Shorts", posting_slots="mon-fri 09:00, sat/sun 11:30",
                           timezone="Europe/Paris")
    tiktok = make_channel("tiktok", name="Science Shorts TikTok")
    review = Asset.objects.create(brief="Why octopuses have three hearts", title="Octopus hearts",
                                  target_duration_seconds=15, created_by=user)
    review.channels.set([youtube, tiktok])
    review.script = compose_template_script(review.brief, title=review.title).model_dump()
    media = Path(settings.MEDIA_ROOT) / "assets" / f"tour-{review.pk}"
    make_video(media / "video.mp4")
    review.video.name = f"assets/tour-{review.pk}/video.mp4"
    review.video_duration = 2.0
    review.save()
    advance(review, "submit", "script_done", "voice_done", "visuals_done", "render_done")
    rendering = Asset.objects.create(brief="How tides work", title="Tides in a minute", target_duration_seconds=15)
    rendering.channels.set([youtube])
    advance(rendering, "submit", "script_done", "voice_done", "visuals_done")
    now = timezone.now()
    Asset.objects.filter(pk=rendering.pk).update(render_progress=0.2, lease_owner="tour",
                                                 lease_expires_at=now + timedelta(minutes=10))
    # The render under way, started 40 s ago: its ETA follows its own pace.
    StageAttempt.objects.create(asset=rendering, stage="render", number=1, provider="ffmpeg",
                                outcome=StageAttempt.Outcome.RUNNING, started_at=now - timedelta(seconds=40))
    yield {"user": user, "youtube": youtube, "tiktok": tiktok, "review": review, "rendering": rendering}
    shutil.rmtree(media, ignore_errors=True)


def test_the_editors_tour(browser, live_site, world, tmp_path):
    tour = Tour(browser, live_site, DOCS_SHOTS if os.environ.get("PHANTOMS_SCREENSHOTS") == "1" else tmp_path)
    review, rendering, youtube, tiktok = world["review"], world["rendering"], world["youtube"], world["tiktok"]

    # Sign in through the form.
    tour.visit("/admin/login/")
    tour.find("#id_username").send_keys("editor-in-chief")
    tour.find("#id_password").send_keys(PASSWORD)
    tour.find("input[type=submit]").click()
    tour.wait_for("return document.querySelector('#phantoms-dashboard') !== null")
    tour.shot("tour-home")
    assert tour.problems() == []

    # The asset list: progress cells, and the one rendering updates without a reload.
    tour.visit("/admin/pipeline/asset/")
    browser.execute_script("window.tourMarker = 'same page'")
    assert "render 20%" in tour.text(f"#progress-{rendering.pk}")
    Asset.objects.filter(pk=rendering.pk).update(render_progress=0.45)
    tour.wait_for(f"return document.querySelector('#progress-{rendering.pk}').textContent.includes('render 45%')")
    assert browser.execute_script("return window.tourMarker") == "same page"
    tour.shot("asset-list")
    assert tour.problems() == []

    # The rendering asset's page: its panel follows the render, no reload.
    tour.visit(f"/admin/pipeline/asset/{rendering.pk}/change/")
    browser.execute_script("window.tourMarker = 'same page'")
    assert tour.text("#progress-render-percent") == "45%"
    Asset.objects.filter(pk=rendering.pk).update(render_progress=0.8)
    tour.wait_for("return document.querySelector('#progress-render-percent').textContent === '80%'")
    assert browser.execute_script("return window.tourMarker") == "same page"
    assert tour.text("#progress-eta")  # 80% in about 40 s: ready about 10 s from now
    tour.find("#asset-progress").location_once_scrolled_into_view  # noqa: B018 (scrolls for the screenshot)
    tour.shot("asset-progress")
    assert tour.problems() == []

    # Review: the asset's page, then its copy per platform, where the TikTok caption is edited with
    # the preview and the counters following the typing, and saved for TikTok only.
    tour.visit(f"/admin/pipeline/asset/{review.pk}/change/")
    tour.wait_for("const v = document.querySelector('video'); return v && v.readyState >= 1")
    tour.shot("asset-review")
    tour.find(f"a[href='/admin/pipeline/asset/{review.pk}/platforms/']").click()
    tour.wait_for("return document.querySelector('#platform-tiktok') !== null")
    caption = tour.find("#id_tiktok-caption")
    caption.clear()
    caption.send_keys("Three hearts, blue blood: meet the octopus")
    tour.wait_for("return document.querySelector('#platform-tiktok .ph-overlay-caption')"
                  ".textContent.includes('meet the octopus')")
    assert "/" in tour.text("#platform-tiktok .ph-counter[data-counter=text]")  # used / limit
    assert "meet the octopus" not in tour.text("#platform-youtube .ph-received")
    tour.shot("platforms")
    tour.find("#platform-tiktok input[type=submit]").click()
    tour.wait_for("return document.querySelector('.messagelist .success') !== null")
    assert "TikTok: saved" in tour.text(".messagelist .success")
    assert platform_copy(Asset.objects.get(pk=review.pk), "tiktok")[1] == "Three hearts, blue blood: meet the octopus"
    assert tour.problems() == []

    # Approve and schedule: YouTube at its next slot, TikTok tomorrow at 18:00.
    tour.visit(f"/admin/pipeline/asset/{review.pk}/change/")
    tour.find("#approve-schedule").click()
    tour.wait_for("return document.querySelector('#schedule-form') !== null")
    tour.find(f"#schedule-{youtube.pk} input[value=slot]").click()
    tour.find(f"#schedule-{tiktok.pk} input[value=time]").click()
    tomorrow = (timezone.now() + timedelta(days=1)).astimezone(timezone.get_current_timezone())
    browser.execute_script("arguments[0].value = arguments[1]", tour.find(f"#id_at_{tiktok.pk}"),
                           tomorrow.strftime("%Y-%m-%dT18:00"))
    tour.shot("schedule")
    tour.find("#schedule-approve").click()
    tour.wait_for("return document.querySelector('.messagelist .success') !== null")
    message = tour.text(".messagelist .success")
    assert "approved" in message and "Science Shorts TikTok on" in message
    assert browser.execute_script(
        "const r = document.querySelector('.messagelist').getBoundingClientRect();"
        "return r.top >= 0 && r.bottom <= window.innerHeight")  # the confirmation is on screen
    tour.shot("approved")
    assert tour.problems() == []
    posts = {p.channel_id: p for p in Publication.objects.filter(asset=review)}
    assert posts[youtube.pk].state == posts[tiktok.pk].state == Publication.State.SCHEDULED

    # The calendar: the TikTok post on its day; dragged to the day after, it keeps its time.
    tiktok_post = posts[tiktok.pk]
    day = timezone.localtime(tiktok_post.scheduled_at).date()
    tour.visit(f"/admin/publishing/publication/calendar/?view=week&date={day.isoformat()}")
    chip = f"#post-{tiktok_post.pk}"
    assert tour.find(chip).find_element("xpath", "./ancestor::td").get_attribute("data-date") == day.isoformat()
    tour.shot("calendar-week")
    target = day + timedelta(days=1)
    if target.weekday() == 0:  # the next day is in the following week: move back one day instead
        target = day - timedelta(days=1)
    browser.execute_script("""
        const post = document.querySelector(arguments[0]);
        const cell = document.querySelector(".ph-cal-day[data-date='" + arguments[1] + "']");
        const data = new DataTransfer();
        post.dispatchEvent(new DragEvent("dragstart", {bubbles: true, dataTransfer: data}));
        cell.dispatchEvent(new DragEvent("dragover", {bubbles: true, cancelable: true, dataTransfer: data}));
        cell.dispatchEvent(new DragEvent("drop", {bubbles: true, cancelable: true, dataTransfer: data}));
    """, chip, target.isoformat())
    tour.wait_for("return document.querySelector('#cal-status').textContent.includes('moved to')")
    assert tour.find(chip).find_element("xpath", "./ancestor::td").get_attribute("data-date") == target.isoformat()
    tiktok_post.refresh_from_db()
    assert timezone.localtime(tiktok_post.scheduled_at).date() == target
    assert f"{timezone.localtime(tiktok_post.scheduled_at):%H:%M}" == "18:00"
    tour.visit(f"/admin/publishing/publication/calendar/?date={target.isoformat()}")
    assert tour.find(chip).get_attribute("data-state") == "scheduled"
    tour.shot("calendar-month")
    assert tour.problems() == []

    # Every page once more for what a first visit might hide: API docs, publications, channels.
    for path in ("/api/docs/", "/admin/publishing/publication/", f"/admin/publishing/channel/{youtube.pk}/change/"):
        tour.visit(path)
        assert tour.problems() == [], path
    assert len(tour.pages) >= 10
