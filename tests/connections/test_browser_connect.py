"""A person connects an account by clicking through the admin and the platform's consent page, in a
real headless Chromium (Debian's chromium and chromium-driver, driven by selenium)."""

import shutil

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from connections.models import Connection

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser():
    assert CHROMIUM and CHROMEDRIVER, "install chromium and chromium-driver (apt-get; .ci/run does)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900"):
        options.add_argument(flag)
    # The driver path is given, so selenium never looks one up or downloads anything.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_connect_tiktok_by_clicking_through(oauth_sandbox, admin_user, browser):
    admin_user.set_password("correct horse battery")
    admin_user.save()
    wait = WebDriverWait(browser, 20)

    browser.get(f"{oauth_sandbox}/admin/login/?next=/admin/connections/connection/")
    browser.find_element(By.NAME, "username").send_keys(admin_user.username)
    browser.find_element(By.NAME, "password").send_keys("correct horse battery")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    wait.until(expected_conditions.element_to_be_clickable((By.ID, "connect-tiktok"))).click()
    # TikTok's consent page (the sandbox's): the account to sign in as, the permissions asked for.
    name = wait.until(expected_conditions.presence_of_element_located((By.ID, "account_name")))
    assert "video.publish" in browser.page_source
    name.clear()
    name.send_keys("Clicky Creator")
    browser.find_element(By.ID, "allow").click()

    message = wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "ul.messagelist li")))
    assert "Connected TikTok account Clicky Creator" in message.text
    assert "/admin/connections/connection/" in browser.current_url
    connection = Connection.objects.get()
    assert connection.status == "connected" and connection.channel.name == "Clicky Creator"
    assert connection.access_token.reveal() not in browser.page_source
    assert "Clicky Creator" in browser.find_element(By.ID, "result_list").text
