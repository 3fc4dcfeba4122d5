"""A real headless Chromium loads the dashboard and a performance page: charts drawn, no console errors.

With PHANTOMS_SCREENSHOTS=1 it also writes docs/screenshots/dashboard.png and performance.png.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.analytics.test_pages import operational_rows, posts

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                       reason="needs chromium and chromedriver (apt-get install -y chromium chromium-driver)"),
]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def web(transactional_db):
    """The project served as in production: static files by whitenoise under their hashed names (the
    live_server fixture's own static handler knows only unhashed ones)."""
    from django.test.testcases import LiveServerThread

    thread = LiveServerThread("127.0.0.1", static_handler=lambda handler: handler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1800",
                 "--disable-gpu"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def sign_in(browser, base):
    from selenium.webdriver.common.by import By

    get_user_model().objects.create_superuser("chief", "chief@example.com", "a-long-password")
    browser.get(base + reverse("admin:login"))
    browser.find_element(By.NAME, "username").send_keys("chief")
    browser.find_element(By.NAME, "password").send_keys("a-long-password")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()


def console_errors(browser) -> list:
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def wait_for(browser, script, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(lambda b: b.execute_script(script))


def test_dashboard_and_performance_in_a_browser(browser, web):
    operational_rows()
    assets, _ = posts(24, days=10)
    sign_in(browser, web)

    browser.get(web + reverse("admin:index"))
    assert wait_for(browser, "return document.getElementById('dash-throughput') !== null")
    # The live refresh replaces the fragment with a fresh one from the server.
    before = browser.execute_script("return document.getElementById('dash-updated').textContent")
    browser.execute_script("document.getElementById('dash-body').setAttribute('data-refresh-seconds', '1')")
    browser.execute_script("document.getElementById('dash-updated').textContent = 'stale'")
    browser.refresh()
    wait_for(browser, "return document.getElementById('dash-updated') !== null")
    browser.execute_script("document.getElementById('dash-updated').textContent = 'stale'")
    assert wait_for(browser, "return document.getElementById('dash-updated').textContent !== 'stale'", timeout=25)
    assert before
    if os.environ.get("PHANTOMS_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(DOCS / "dashboard.png"))
    assert console_errors(browser) == []

    browser.get(web + reverse("admin:analytics_performance") + "?days=30")
    drawn = wait_for(browser, "var c = document.querySelectorAll('canvas[data-chart]');"
                              "return c.length && Array.prototype.every.call(c, function (x) {"
                              " return window.Chart && Chart.getChart(x); }) && c.length")
    assert drawn == 7
    if os.environ.get("PHANTOMS_SCREENSHOTS"):
        browser.save_screenshot(str(DOCS / "performance.png"))
    assert console_errors(browser) == []

    browser.get(web + reverse("admin:analytics_asset_performance", args=[assets[0].pk]))
    assert wait_for(browser, "return document.querySelectorAll('canvas[data-chart]').length") >= 1
    assert console_errors(browser) == []
