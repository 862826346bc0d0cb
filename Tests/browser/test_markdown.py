"""Model output on the page: markdown rendered, hostile HTML inert, code copyable, failures retryable, usage shown.

These tests start their own deployment whose workers talk to a scripted OpenAI-compatible server
(fake_llm.py), so the model says exactly what a test needs, including what a prompt injection
could make a real model say.
"""

import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import by_testid, last_run, send_message, wait_online, wait_run_status
from deployment import ARTIFACTS, Deployment
from fake_llm import FakeLLM

HOSTILE = """Here is what you asked for.

<img src=x onerror="document.title='pwned-img'; window.__pwned = 'img'">

<script>document.title = 'pwned-script'; window.__pwned = 'script';</script>

[a harmless looking link](javascript:document.title='pwned-link')

<a href="javascript:document.title='pwned-anchor'" data-x="1">another link</a>

<iframe src="javascript:parent.document.title='pwned-iframe'"></iframe>

<iframe srcdoc="<script>parent.document.title='pwned-srcdoc'</script>"></iframe>

<svg><script>document.title='pwned-svg'</script></svg>

<div style="position:fixed;inset:0;background:red" onclick="document.title='pwned-click'">**still** markdown</div>

**Bold text survives.**
"""

CODE = "def greet(name):\n    return f\"hello {name}\"\n"
MARKDOWN = f"""# A heading

- one
- two

```python
{CODE}```
"""


@pytest.fixture(scope="module")
def llm():
    fake = FakeLLM().start()
    fake.answers["XSS-probe"] = HOSTILE
    fake.answers["show me code"] = MARKDOWN
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def herald(llm):
    env = {"HERALD_LLM_BASE_URL": llm.base_url, "HERALD_LLM_MODEL": "fake", "HERALD_LLM_MAX_RETRIES": "0"}
    with Deployment("fake-llm", env=env) as deployment:
        yield deployment


def assert_inert(browser):
    """No payload ran, and nothing that could run later is in the conversation's DOM."""
    assert browser.title == "Herald"
    assert browser.execute_script("return window.__pwned === undefined")
    conversation = browser.find_element(*by_testid("conversation"))
    for tag in ("script", "iframe", "frame", "object", "embed", "svg", "style", "form"):
        assert not conversation.find_elements(By.TAG_NAME, tag), f"<{tag}> in the conversation"
    handlers = browser.execute_script(
        "return [...document.querySelectorAll('[data-testid=conversation] *')]"
        ".flatMap((n) => [...n.attributes].map((a) => a.name)).filter((name) => name.startsWith('on') || name === 'style' || name === 'srcdoc')"
    )
    assert handlers == []
    for link in conversation.find_elements(By.CSS_SELECTOR, "a[href]"):
        assert not link.get_attribute("href").lower().startswith("javascript:")


def test_hostile_markdown_renders_inert(browser, herald):
    browser.get(herald.url)
    send_message(browser, "XSS-probe: repeat the payloads")
    run = last_run(browser)
    wait_run_status(browser, run, "completed")
    report = run.find_element(*by_testid("final-report"))
    assert "Bold text survives." in report.find_element(By.TAG_NAME, "strong").text
    assert "Here is what you asked for." in report.text
    assert_inert(browser)

    # The links are still text to read, but clicking them does nothing.
    for text in ("a harmless looking link", "another link"):
        matches = report.find_elements(By.XPATH, f".//*[contains(text(), '{text}')]")
        assert matches, text
        matches[0].click()
    assert_inert(browser)
    assert len(browser.window_handles) == 1

    browser.save_screenshot(str(ARTIFACTS / "browser-hostile_markdown_renders_inert-live.png"))

    # The stored message (messages API) renders as safely after a reload.
    browser.refresh()
    wait_online(browser)
    WebDriverWait(browser, 30).until(EC.text_to_be_present_in_element(by_testid("final-report"), "Bold text survives."))
    assert_inert(browser)


def test_code_block_has_a_copy_button(browser, herald):
    browser.get(herald.url)
    browser.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": herald.url.rstrip("/"), "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
    })
    send_message(browser, "show me code")
    run = last_run(browser)
    wait_run_status(browser, run, "completed")
    report = run.find_element(*by_testid("final-report"))
    assert report.find_element(By.TAG_NAME, "h1").text == "A heading"
    assert len(report.find_elements(By.CSS_SELECTOR, "ul > li")) == 2
    assert report.find_element(By.CSS_SELECTOR, ".code-language").text == "python"

    button = report.find_element(*by_testid("copy-code"))
    button.click()
    WebDriverWait(browser, 5).until(lambda d: button.text == "Copied")
    copied = browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; navigator.clipboard.readText().then(done, (e) => done('error: ' + e));"
    )
    assert copied == CODE


def test_retry_after_a_retryable_agent_error(browser, herald, llm):
    browser.get(herald.url)
    llm.failing = True
    try:
        send_message(browser, "please answer this")
        failed = last_run(browser)
        wait_run_status(browser, failed, "failed")
        error = failed.find_element(*by_testid("agent-error"))
        assert "llm_unavailable" in error.text
        retry = WebDriverWait(browser, 10).until(EC.element_to_be_clickable(by_testid("retry-button")))
    finally:
        llm.failing = False

    retry.click()
    WebDriverWait(browser, 30).until(lambda d: len(d.find_elements(*by_testid("run"))) == 2)
    again = last_run(browser)
    wait_run_status(browser, again, "completed")
    assert "Echo: please answer this" in again.find_element(*by_testid("final-report")).text
    words = [node.text for node in browser.find_elements(*by_testid("user-message"))]
    assert words == ["please answer this", "please answer this"]
    assert not browser.find_elements(*by_testid("retry-button"))
    # Both runs are in the same conversation.
    assert len(browser.find_elements(*by_testid("thread-item"))) == 1


def test_token_usage_is_shown(browser, herald):
    browser.get(herald.url)
    send_message(browser, "how many tokens?")
    run = last_run(browser)
    wait_run_status(browser, run, "completed")
    usage = run.find_element(*by_testid("token-usage")).text
    match = re.fullmatch(r"(\d+) tokens \((\d+) in · (\d+) out\)", usage)
    assert match, usage
    total, prompt, completion = map(int, match.groups())
    assert total == prompt + completion and prompt >= 42 and completion > 0
