"""What assistive technology gets: one live region (the run's status), and a drawer that is really closed.

Streamed text and tool JSON in a live region would be read out word by word; only the run status
line is announced. On a phone the conversation list is a drawer: while hidden it is `inert` (out of
the tab order and the accessibility tree), and Escape closes it.
"""

from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import by_testid, last_run, send_message, wait_online, wait_run_status
from deployment import ARTIFACTS

LIVE_REGIONS = """
return [...document.querySelectorAll(
  '[aria-live]:not([aria-live=off]), [role=status], [role=alert], [role=log], [role=marquee], [role=timer], output'
)].map((node) => node.dataset.testid || node.outerHTML.slice(0, 80));
"""


def test_only_the_run_status_is_live(browser, herald_url):
    browser.get(herald_url)
    send_message(browser, "wait 2 seconds")
    run = last_run(browser)
    # While the run streams, and after it: one live region, and it is the status line.
    WebDriverWait(browser, 30).until(EC.text_to_be_present_in_element(by_testid("run-status-line"), "Working"))
    assert browser.execute_script(LIVE_REGIONS) == ["run-status-line"]
    wait_run_status(browser, run, "completed")
    assert browser.execute_script(LIVE_REGIONS) == ["run-status-line"]
    status = browser.find_element(*by_testid("run-status-line"))
    assert status.get_attribute("aria-live") == "polite"
    assert status.text == "Answer complete"
    # The streamed answer and the tool JSON are not inside it either.
    for testid in ("final-report", "tool-arguments", "tool-result"):
        assert browser.execute_script(
            f"return document.querySelector('[data-testid={testid}]').closest('[aria-live]') === null"
        ), testid


def test_drawer_is_inert_when_hidden_and_closes_on_escape(browser, herald_url):
    browser.set_window_size(390, 844)
    browser.get(herald_url)
    wait_online(browser)
    sidebar = browser.find_element(*by_testid("sidebar"))
    toggle = browser.find_element(*by_testid("threads-toggle"))
    is_inert = lambda: browser.execute_script("return arguments[0].inert", sidebar)  # noqa: E731

    WebDriverWait(browser, 10).until(EC.visibility_of(toggle))
    assert is_inert()
    assert toggle.get_attribute("aria-expanded") == "false"
    # Closed, nothing in it can take focus.
    browser.execute_script("arguments[0].focus()", browser.find_element(*by_testid("new-thread")))
    assert browser.execute_script("return !arguments[0].contains(document.activeElement)", sidebar)

    toggle.click()
    WebDriverWait(browser, 5).until(lambda d: not is_inert())
    assert toggle.get_attribute("aria-expanded") == "true"
    assert browser.execute_script("return arguments[0].contains(document.activeElement)", sidebar)
    # Open, the drawer is modal: the conversation behind it is out of reach.
    assert browser.execute_script("return document.querySelector('main').inert")
    # Slid fully in (its transition ended) before the picture.
    WebDriverWait(browser, 5).until(lambda d: d.execute_script("return arguments[0].getBoundingClientRect().left", sidebar) == 0)
    browser.save_screenshot(str(ARTIFACTS / "browser-drawer-open.png"))

    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    WebDriverWait(browser, 5).until(lambda d: is_inert())
    assert toggle.get_attribute("aria-expanded") == "false"
    assert browser.switch_to.active_element == toggle
    assert not browser.execute_script("return document.querySelector('main').inert")

    # On a wide screen the list is a sidebar, never inert.
    browser.set_window_size(1280, 900)
    WebDriverWait(browser, 5).until(lambda d: not is_inert())
