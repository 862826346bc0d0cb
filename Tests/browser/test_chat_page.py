"""The chat page in headless Chromium against the shared deployment (conftest.py: HERALD_URL or its own).

Sends `what is (17*3)+4?` and waits for every step to show up on the page: the agents, the
calculator call with its arguments and then its result, the streamed answer and the final report
with 55. Saves screenshots to artifacts/ (laptop and phone sizes), then reloads the page and
checks that the conversation comes back (the thread list and its messages from the server).
"""

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import by_testid
from deployment import ARTIFACTS

QUESTION = "what is (17*3)+4?"


def wait_for_text(driver, locator, text, timeout=60):
    WebDriverWait(driver, timeout).until(EC.text_to_be_present_in_element(locator, text))
    return driver.find_element(*locator)


def test_run_steps_appear_as_they_happen(browser, herald_url):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.get(herald_url)
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.find_element(*by_testid("connection-status")).get_attribute("data-state") == "online")
    assert browser.find_element(*by_testid("user-id")).text

    box = browser.find_element(*by_testid("message-input"))
    box.send_keys(QUESTION)
    box.send_keys(Keys.ENTER)

    # The user's message and its run card appear at once, then each step as the run goes.
    wait_for_text(browser, by_testid("user-message"), QUESTION, timeout=10)
    run = wait.until(EC.presence_of_element_located(by_testid("run")))
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='agent'][data-agent-name='supervisor']")))
    tool = WebDriverWait(browser, 60).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='tool-call'][data-tool-name='calculator']"))
    )
    arguments = tool.find_element(*by_testid("tool-arguments")).text
    assert "17" in arguments and "3" in arguments and "4" in arguments, arguments
    result = wait_for_text(browser, by_testid("tool-result"), "55")
    assert "55" in result.text
    report = wait_for_text(browser, by_testid("final-report"), "55")
    assert "55" in report.text
    wait.until(lambda d: run.find_element(*by_testid("run-status")).get_attribute("data-status") == "completed")

    # Every agent was closed, and nothing is left running.
    agents = browser.find_elements(*by_testid("agent"))
    assert {agent.get_attribute("data-agent-name") for agent in agents} >= {"supervisor"}
    assert not browser.find_elements(*by_testid("agent-running"))
    assert not run.find_element(*by_testid("stop-button")).is_displayed()
    assert browser.find_element(*by_testid("thread-item")).text.startswith("what is")

    browser.save_screenshot(str(ARTIFACTS / "chat-page.png"))
    browser.set_window_size(390, 844)
    # The phone layout is in place once the conversations button shows and the drawer has slid away.
    WebDriverWait(browser, 10).until(EC.visibility_of_element_located(by_testid("threads-toggle")))
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(
        "return document.querySelector('[data-testid=sidebar]').getBoundingClientRect().right <= 0"))
    browser.save_screenshot(str(ARTIFACTS / "chat-page-phone.png"))
    browser.set_window_size(1280, 900)

    # A reload resumes the conversation from the thread's history.
    browser.refresh()
    wait.until(lambda d: d.find_element(*by_testid("connection-status")).get_attribute("data-state") == "online")
    wait_for_text(browser, by_testid("final-report"), "55", timeout=30)
    wait_for_text(browser, by_testid("user-message"), QUESTION, timeout=10)
    assert len(browser.find_elements(*by_testid("run"))) == 1


def test_stop_button_cancels_a_running_run(browser, herald_url):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.get(herald_url)
    wait = WebDriverWait(browser, 30)
    wait.until(lambda d: d.find_element(*by_testid("connection-status")).get_attribute("data-state") == "online")
    browser.find_element(*by_testid("new-thread")).click()
    box = browser.find_element(*by_testid("message-input"))
    box.send_keys("wait 30 seconds")
    box.send_keys(Keys.ENTER)

    tool = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='tool-call'][data-tool-name='wait']")))
    run = browser.find_elements(*by_testid("run"))[-1]
    stop = run.find_element(*by_testid("stop-button"))
    assert stop.is_displayed()
    assert run.find_elements(*by_testid("agent-running"))
    browser.save_screenshot(str(ARTIFACTS / "chat-page-running.png"))

    stop.click()
    WebDriverWait(browser, 15).until(lambda d: run.find_element(*by_testid("run-status")).get_attribute("data-status") == "cancelled")
    assert tool.find_element(*by_testid("tool-status")).get_attribute("data-status") == "cancelled"
    assert not stop.is_displayed()
    assert not run.find_elements(*by_testid("agent-running"))
