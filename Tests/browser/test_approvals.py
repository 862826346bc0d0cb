"""An approval request on the page: the tool, its arguments editable as JSON, the time left, Approve/Deny.

fake_relay.py plays the run (no server-side approvals needed): it asks for approval of a `send_email`
call and, as nothing on its side takes decisions, lets the request expire. The page must show the
request, refuse to send arguments that are not a JSON object, send `approval_response` with the
edited arguments through the client, show the gateway's answer, and close the request when
`approval_resolved` comes.
"""

import json
import re

from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import by_testid, last_run, send_message, wait_run_status

RECORD_SENT = """
window.__sent = [];
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) { window.__sent.push(JSON.parse(data)); return send.call(this, data); };
"""


def test_approval_request_is_answered_from_the_page(browsers, deployments):
    herald = deployments.start("approvals", fake_relay=True, offline_delay_ms=20)
    browser = browsers.new()
    browser.get(herald.url)
    browser.execute_script(RECORD_SENT)
    send_message(browser, "send the report, approval within 12 seconds")
    run = last_run(browser)

    panel = WebDriverWait(browser, 30).until(EC.visibility_of_element_located(by_testid("approval")))
    assert "Approve send_email?" in panel.text
    field = panel.find_element(*by_testid("approval-arguments"))
    assert json.loads(field.get_attribute("value"))["subject"] == "Weekly report"
    left = panel.find_element(*by_testid("approval-time-left"))
    assert re.fullmatch(r"0:1[0-2] left", left.text), left.text
    first = left.text
    WebDriverWait(browser, 5).until(lambda d: left.text != first)  # it counts down
    assert browser.find_element(*by_testid("run-status-line")).text == "Approval needed for send_email"

    approve = panel.find_element(*by_testid("approve-button"))
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys('{"to": "ops@example.com", "subject": ')
    WebDriverWait(browser, 5).until(lambda d: not approve.is_enabled())
    assert "Not valid JSON" in panel.find_element(*by_testid("approval-problem")).text
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys('{"to": "ops@example.com", "subject": "Edited", "body": "All green."}')
    WebDriverWait(browser, 5).until(lambda d: approve.is_enabled())
    browser.save_screenshot(str(__import__("deployment").ARTIFACTS / "browser-approval-request.png"))

    approve.click()
    WebDriverWait(browser, 10).until(lambda d: any(f["type"] == "approval_response" for f in d.execute_script("return window.__sent")))
    frame = next(f for f in browser.execute_script("return window.__sent") if f["type"] == "approval_response")
    assert frame["decision"] == "approve" and frame["approval_id"].startswith("apr_")
    assert frame["arguments"] == {"to": "ops@example.com", "subject": "Edited", "body": "All green."}

    # The request expires (nobody here decides): the panel closes and the tool is denied.
    WebDriverWait(browser, 30).until(lambda d: panel.get_attribute("data-state") == "expired")
    assert not approve.is_enabled() and not panel.find_element(*by_testid("deny-button")).is_enabled()
    wait_run_status(browser, run, "completed")
    assert run.find_element(*by_testid("tool-status")).get_attribute("data-status") == "denied"


def press(browser, button):
    """Scrolls the button to the middle and presses it in one script: WebDriver's own scroll puts an element at the
    bottom edge, under the page's fixed composer."""
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'}); arguments[0].click();", button)


def test_real_runs_pause_for_approval_one_approved_one_denied(browsers, deployments):
    """The whole stack: save_note pauses the run for approval; the page's Approve runs it (with the arguments as
    edited), its Deny completes the call `denied`, and both runs complete."""
    herald = deployments.start("approvals-real", offline_delay_ms=5)
    browser = browsers.new()
    browser.get(herald.url)

    send_message(browser, "save a note: water the plants")
    run = last_run(browser)
    panel = WebDriverWait(browser, 30).until(lambda d: run.find_element(*by_testid("approval")))
    assert "Approve save_note?" in panel.text
    field = panel.find_element(*by_testid("approval-arguments"))
    assert json.loads(field.get_attribute("value")) == {"text": "water the plants"}
    assert re.fullmatch(r"(9|10):\d\d left", panel.find_element(*by_testid("approval-time-left")).text)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys('{"text": "water the plants on Friday"}')
    press(browser, panel.find_element(*by_testid("approve-button")))
    WebDriverWait(browser, 30).until(lambda d: panel.get_attribute("data-state") == "approved")
    wait_run_status(browser, run, "completed")
    assert run.find_element(*by_testid("tool-status")).get_attribute("data-status") == "success"
    assert "water the plants on Friday" in run.text

    send_message(browser, "save a note: sell the car")
    second = last_run(browser)
    WebDriverWait(browser, 30).until(lambda d: second.get_attribute("data-run-id") != run.get_attribute("data-run-id"))
    denial = WebDriverWait(browser, 30).until(lambda d: second.find_element(*by_testid("approval")))
    press(browser, denial.find_element(*by_testid("deny-button")))
    WebDriverWait(browser, 30).until(lambda d: denial.get_attribute("data-state") == "denied")
    wait_run_status(browser, second, "completed")
    assert second.find_element(*by_testid("tool-status")).get_attribute("data-status") == "denied"
    assert "I did not run save_note" in second.text


def test_a_reloaded_page_shows_the_open_request_and_a_second_tab_sees_the_decision(browsers, deployments):
    """The request lives in the thread's history, not in the tab that saw it first: after a reload the page shows it
    again with Approve and Deny, another tab of the same user shows it too, and the answer from one tab closes the
    request on the other."""
    herald = deployments.start("approvals-reload", offline_delay_ms=5)
    browser = browsers.new()
    browser.get(herald.url)
    send_message(browser, "save a note: renew the passport")
    WebDriverWait(browser, 30).until(lambda d: last_run(d).find_element(*by_testid("approval")))

    browser.refresh()
    run = last_run(browser)
    panel = WebDriverWait(browser, 30).until(lambda d: run.find_element(*by_testid("approval")))
    assert "Approve save_note?" in panel.text
    WebDriverWait(browser, 10).until(lambda d: panel.find_element(*by_testid("approve-button")).is_enabled())

    # The same user in a second tab (the guest token lives in the browser's storage, shared by its tabs).
    browser.execute_script("window.open(arguments[0], '_blank')", herald.url)
    first_tab, second_tab = browser.window_handles[0], browser.window_handles[-1]
    browser.switch_to.window(second_tab)
    other_run = last_run(browser)
    other_panel = WebDriverWait(browser, 30).until(lambda d: other_run.find_element(*by_testid("approval")))
    press(browser, other_panel.find_element(*by_testid("deny-button")))
    WebDriverWait(browser, 30).until(lambda d: other_panel.get_attribute("data-state") == "denied")
    wait_run_status(browser, other_run, "completed")

    browser.switch_to.window(first_tab)
    WebDriverWait(browser, 30).until(lambda d: panel.get_attribute("data-state") == "denied")
    assert not panel.find_element(*by_testid("approve-button")).is_enabled()
    wait_run_status(browser, run, "completed")
    assert run.find_element(*by_testid("tool-status")).get_attribute("data-status") == "denied"
