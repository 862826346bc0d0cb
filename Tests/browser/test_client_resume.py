"""herald-client.js across a gateway crash: the page's run goes on with no gap and no duplicate.

The test kills the gateway (SIGKILL: no close frame; and, the second time, SIGTERM: a graceful
shutdown that closes the socket with 1001) while a run waits in its `wait` tool, lets the run
finish while no gateway is up, then starts another gateway on the same port. The page's client
reconnects, resumes the thread after the last seq it saw, and gets the rest from history. Every event
the client delivered is recorded in the page: their seqs must be 1..N, each once, in one epoch, and
the run must end exactly once.
"""

import signal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import by_testid, last_run, send_message, wait_online, wait_run_status
from deployment import wait_until

RECORD_EVENTS = """
window.__events = [];
window.heraldClient.on("event", (e) => window.__events.push({
  thread: e.thread_id, run: e.run_id, seq: e.seq, epoch: e.epoch, type: e.type, agent: e.agent_name,
}));
window.__states = [];
window.heraldClient.on("state", ({ state }) => window.__states.push(state));
window.__closes = [];
window.heraldClient.on("close", (close) => window.__closes.push(close));
"""


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_resume_after_gateway_killed_has_no_gap_and_no_duplicate(browsers, deployments, how):
    herald = deployments.start(f"resume-{how}", offline_delay_ms=30)
    browser = browsers.new()
    browser.get(herald.url)
    wait_online(browser)
    browser.execute_script(RECORD_EVENTS)

    send_message(browser, "wait 3 seconds")
    run = last_run(browser)
    run_id = run.get_attribute("data-run-id")
    WebDriverWait(browser, 30).until(
        EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid='tool-call'][data-tool-name='wait']"))
    )
    seen_before = browser.execute_script("return window.__events.length")

    herald.kill_gateway(getattr(signal, how))
    WebDriverWait(browser, 15).until(
        lambda d: d.find_element(*by_testid("connection-status")).get_attribute("data-state") != "online"
    )
    # The run ends while no gateway is up: what the page missed can only come from history.
    wait_until(lambda: any("run ended" in line and run_id in line for line in herald.log("relay").splitlines()), 60, "the run to end")
    herald.start_gateway()

    wait_online(browser, timeout=60)
    wait_run_status(browser, run, "completed")
    report = browser.find_element(*by_testid("final-report"))
    assert "waited 3 seconds" in report.text

    events = browser.execute_script("return window.__events")
    states = browser.execute_script("return window.__states")
    assert "reconnecting" in states and states[-1] == "open", states
    closes = browser.execute_script("return window.__closes")
    assert closes and closes[0]["code"] == (1001 if how == "SIGTERM" else 1006) and closes[0]["willReconnect"], closes
    seqs = [event["seq"] for event in events]
    assert len(seqs) > seen_before, "nothing arrived after the reconnect"
    assert seqs == list(range(1, len(seqs) + 1)), f"seqs not contiguous and unique: {seqs}"
    assert len({event["epoch"] for event in events}) == 1
    assert {event["run"] for event in events} == {run_id}
    terminal = [e for e in events if e["agent"] == "supervisor" and e["type"] in ("agent_completed", "agent_error")]
    assert len(terminal) == 1 and events[-1] == terminal[0]
    assert [e["type"] for e in events].count("final_report") == 1

    # The page drew the run once: one card, one report, every agent closed.
    assert len(browser.find_elements(*by_testid("run"))) == 1
    assert len(browser.find_elements(*by_testid("final-report"))) == 1
    assert not browser.find_elements(*by_testid("agent-running"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "[data-testid='tool-call'][data-tool-name='wait']")) == 1
