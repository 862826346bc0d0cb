"""Fixtures of the browser tests: headless Chromium, deployments, screenshots.

- `herald_url`: the deployment most tests share: $HERALD_URL when scripts/test.sh started one, else a
  private one started here from $HERALD_BIN_DIR (deployment.py).
- `deployments`: starts private deployments (`deployments.start(name, jwt_secret=…, env=…)`) for tests
  that kill a gateway, need JWT mode or other settings; stopped after the test.
- `browsers`: makes Chromium sessions (each its own profile unless given one); at the end of the test
  each one's screenshot goes to artifacts/browser-<test>[-<n>].png (while its deployment still runs),
  then it quits.
- `browser`: one session, for tests that need only one.

Chromium and its driver are Debian's (/usr/bin/chromium, /usr/bin/chromedriver; CHROMIUM and
CHROMEDRIVER override them): selenium's driver manager cannot download one here.
"""

import os
import pathlib
import re
import sys

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from deployment import ARTIFACTS, Deployment  # noqa: E402


def by_testid(testid, within=""):
    return (By.CSS_SELECTOR, f"{within} [data-testid='{testid}']".strip())


def wait_online(driver, timeout=30):
    WebDriverWait(driver, timeout).until(
        lambda d: d.find_element(*by_testid("connection-status")).get_attribute("data-state") == "online"
    )


@pytest.fixture(scope="session")
def herald_url():
    url = os.environ.get("HERALD_URL")
    if url:
        yield url
        return
    with Deployment("shared") as herald:
        yield herald.url


class Browsers:
    def __init__(self, test_name):
        self.test_name = test_name
        self.drivers = []

    def new(self, profile_dir=None, size=(1280, 900)):
        options = webdriver.ChromeOptions()
        options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", f"--window-size={size[0]},{size[1]}"):
            options.add_argument(flag)
        if profile_dir:
            options.add_argument(f"--user-data-dir={profile_dir}")
        driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
        driver.set_page_load_timeout(30)
        self.drivers.append(driver)
        return driver

    def close(self):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for index, driver in enumerate(self.drivers):
            suffix = "" if index == 0 else f"-{index + 1}"
            try:
                driver.save_screenshot(str(ARTIFACTS / f"browser-{self.test_name}{suffix}.png"))
            except Exception:  # a crashed browser has no screenshot to give; the test's failure says why
                pass
            driver.quit()


class Deployments:
    """Starts private deployments for one test and stops them after it (and after its browsers' screenshots)."""

    def __init__(self):
        self.started = []

    def start(self, name, **settings):
        deployment = Deployment(name, **settings)
        deployment.start()
        self.started.append(deployment)
        return deployment

    def stop(self):
        for deployment in reversed(self.started):
            deployment.stop()


@pytest.fixture
def deployments():
    started = Deployments()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def browsers(request, deployments):
    # Depends on `deployments` so that screenshots are taken while the deployment still runs.
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name.removeprefix("test_")).strip("-")
    sessions = Browsers(name)
    try:
        yield sessions
    finally:
        sessions.close()


@pytest.fixture
def browser(browsers):
    return browsers.new()


# ---------------------------------------------------------------- helpers the tests share


def send_message(driver, text):
    """Types a message and sends it with Enter, once the page is connected."""
    from selenium.webdriver.common.keys import Keys

    wait_online(driver)
    box = driver.find_element(*by_testid("message-input"))
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def last_run(driver, timeout=30):
    """The newest run card, once it has a run id (run_queued came)."""
    WebDriverWait(driver, timeout).until(
        lambda d: (runs := d.find_elements(*by_testid("run"))) and runs[-1].get_attribute("data-run-id")
    )
    return driver.find_elements(*by_testid("run"))[-1]


def wait_run_status(driver, run, status, timeout=60):
    WebDriverWait(driver, timeout).until(lambda d: run.find_element(*by_testid("run-status")).get_attribute("data-status") == status)


def thread_titles(driver):
    # Read in one go: the list is redrawn as threads change, which would leave element handles stale.
    return driver.execute_script(
        "return [...document.querySelectorAll('[data-testid=thread-item]')].map((item) => item.innerText.trim())"
    )
