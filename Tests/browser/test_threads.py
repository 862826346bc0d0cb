"""Conversations from the server: another device sees the same threads and whole messages; rename, delete.

The JWT test starts its own deployment with HERALD_JWT_SECRET and opens the page in two Chromium
profiles (separate user-data-dirs: nothing shared but the user's token), as one person on a laptop
and a phone would.
"""

import secrets

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import by_testid, last_run, send_message, thread_titles, wait_online, wait_run_status

QUESTION = "what is (17*3)+4?"
FOLLOW_UP = "hello there"


def open_as(browser, herald, user):
    token = herald.token(user)
    browser.get(f"{herald.url}?token={token}")
    wait_online(browser)
    return token


def test_second_profile_sees_the_same_threads_and_whole_messages(browsers, deployments, tmp_path):
    herald = deployments.start("profiles", jwt_secret=secrets.token_hex(32))
    laptop = browsers.new(profile_dir=tmp_path / "laptop")
    token = open_as(laptop, herald, "alice")
    # The token left the address bar (and history) for localStorage.
    assert "token=" not in laptop.current_url
    assert laptop.execute_script("return localStorage.getItem('herald.jwt')") == token
    assert laptop.find_element(*by_testid("user-id")).text == "alice"

    send_message(laptop, QUESTION)
    wait_run_status(laptop, last_run(laptop), "completed")
    send_message(laptop, FOLLOW_UP)
    second = last_run(laptop)
    wait_run_status(laptop, second, "completed")
    assert len(laptop.find_elements(*by_testid("turn"))) == 2

    phone = browsers.new(profile_dir=tmp_path / "phone")
    open_as(phone, herald, "alice")
    WebDriverWait(phone, 30).until(lambda d: thread_titles(d))
    assert len(thread_titles(phone)) == 1
    assert thread_titles(phone)[0].startswith("what is")
    phone.find_element(*by_testid("thread-item")).click()

    # Both turns, each with the user's own words and the whole answer, from the messages API.
    WebDriverWait(phone, 30).until(lambda d: len(d.find_elements(*by_testid("final-report"))) == 2)
    words = [node.text for node in phone.find_elements(*by_testid("user-message"))]
    assert words == [QUESTION, FOLLOW_UP]
    reports = phone.find_elements(*by_testid("final-report"))
    assert "55" in reports[0].text
    assert reports[1].text == laptop.find_elements(*by_testid("final-report"))[1].text
    assert all(run.find_element(*by_testid("run-status")).get_attribute("data-status") == "completed"
               for run in phone.find_elements(*by_testid("run")))

    # A run started on the laptop shows on the phone as it happens, with the words typed on the laptop.
    send_message(laptop, "wait 2 seconds")
    WebDriverWait(phone, 30).until(lambda d: len(d.find_elements(*by_testid("turn"))) == 3)
    live = phone.find_elements(*by_testid("turn"))[-1]
    WebDriverWait(phone, 30).until(lambda d: live.find_element(*by_testid("user-message")).text == "wait 2 seconds")
    wait_run_status(phone, live.find_element(*by_testid("run")), "completed")
    assert "waited 2 seconds" in live.find_element(*by_testid("final-report")).text

    # Another user sees none of it.
    stranger = browsers.new(profile_dir=tmp_path / "stranger")
    open_as(stranger, herald, "bob")
    WebDriverWait(stranger, 30).until(EC.visibility_of_element_located(by_testid("threads-empty")))
    assert thread_titles(stranger) == []


def rename(browser, index, title):
    rows = browser.find_elements(*by_testid("thread-row"))
    rows[index].find_element(*by_testid("rename-thread")).click()
    field = WebDriverWait(browser, 10).until(EC.visibility_of_element_located(by_testid("thread-title-input")))
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(title)
    field.send_keys(Keys.ENTER)


def test_rename_and_delete(browser, herald_url):
    browser.get(herald_url)
    send_message(browser, "what is 2+2?")
    wait_run_status(browser, last_run(browser), "completed")
    browser.find_element(*by_testid("new-thread")).click()
    send_message(browser, "what is 3+3?")
    wait_run_status(browser, last_run(browser), "completed")
    WebDriverWait(browser, 10).until(lambda d: len(thread_titles(d)) == 2)
    kept, doomed = (row.get_attribute("data-thread-id") for row in browser.find_elements(*by_testid("thread-row")))

    rename(browser, 0, "Arithmetic, renamed")
    WebDriverWait(browser, 10).until(lambda d: "Arithmetic, renamed" in thread_titles(d))

    rows = browser.find_elements(*by_testid("thread-row"))
    rows[1].find_element(*by_testid("delete-thread")).click()
    dialog = WebDriverWait(browser, 10).until(EC.visibility_of_element_located(by_testid("delete-dialog")))
    dialog.find_element(*by_testid("confirm-delete")).click()
    WebDriverWait(browser, 10).until(lambda d: len(thread_titles(d)) == 1)

    # What the server keeps: after a reload, the new title and one thread; the deleted one is 404.
    browser.refresh()
    wait_online(browser)
    WebDriverWait(browser, 30).until(lambda d: thread_titles(d) == ["Arithmetic, renamed"])
    assert browser.find_element(*by_testid("thread-row")).get_attribute("data-thread-id") == kept
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.heraldClient.getThread(arguments[0]).then(() => done('found'), (e) => done([e.name, e.status, e.code]));",
        doomed,
    )
    assert status == ["HeraldApiError", 404, "not_found"]
    thread = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.heraldClient.getThread(arguments[0]).then(done, (e) => done(String(e)));",
        kept,
    )
    assert thread["title"] == "Arithmetic, renamed"


def test_escape_cancels_a_rename(browser, herald_url):
    browser.get(herald_url)
    send_message(browser, "what is 5+5?")
    wait_run_status(browser, last_run(browser), "completed")
    WebDriverWait(browser, 10).until(lambda d: thread_titles(d))
    before = thread_titles(browser)[0]
    browser.find_element(*by_testid("rename-thread")).click()
    field = WebDriverWait(browser, 10).until(EC.visibility_of_element_located(by_testid("thread-title-input")))
    field.send_keys(" and more")
    field.send_keys(Keys.ESCAPE)
    WebDriverWait(browser, 10).until(lambda d: not d.find_elements(*by_testid("thread-title-input")))
    assert thread_titles(browser)[0] == before
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid='thread-row']")


RUN_MANY = """
const [count, done] = [arguments[0], arguments[arguments.length - 1]];
const client = window.heraldClient;
const ended = (runId) => new Promise((resolve) => {
  const off = client.on("event", (e) => {
    if (e.run_id === runId && e.agent_name === "supervisor" && (e.type === "agent_completed" || e.type === "agent_error")) {
      off();
      resolve();
    }
  });
});
(async () => {
  let threadId;
  for (let i = 1; i <= count; i += 1) {
    const queued = await client.sendMessage(`what is ${i}+${i}?`, { threadId });
    threadId = queued.thread_id;
    await ended(queued.run_id);
  }
  done(threadId);
})().catch((error) => done(`error: ${error.message}`));
"""


def test_older_messages_load_on_demand(browser, herald_url):
    browser.get(herald_url)
    wait_online(browser)
    browser.set_script_timeout(120)
    # 21 runs (42 messages) through the page's client: more than the first page of 40 messages.
    thread_id = browser.execute_async_script(RUN_MANY, 21)
    assert not thread_id.startswith("error"), thread_id

    browser.refresh()
    wait_online(browser)
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, f"[data-testid='thread-item'][data-thread-id='{thread_id}']"))
    browser.find_element(By.CSS_SELECTOR, f"[data-testid='thread-item'][data-thread-id='{thread_id}']").click()
    WebDriverWait(browser, 30).until(lambda d: len(d.find_elements(*by_testid("turn"))) == 20)
    words = [node.text for node in browser.find_elements(*by_testid("user-message"))]
    assert words[0] == "what is 2+2?" and words[-1] == "what is 21+21?"

    earlier = WebDriverWait(browser, 10).until(EC.element_to_be_clickable(by_testid("load-earlier")))
    # Up at the top of the conversation, where a reader would be, and pressed in the same script: the page may still
    # be drawing the thread's replayed history, and a layout change between WebDriver's own scroll and its click put
    # the button above the viewport once in CI ("not clickable at point (762, -73)").
    browser.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'}); arguments[0].click();", earlier)
    WebDriverWait(browser, 30).until(lambda d: len(d.find_elements(*by_testid("turn"))) == 21)
    words = [node.text for node in browser.find_elements(*by_testid("user-message"))]
    assert words == [f"what is {i}+{i}?" for i in range(1, 22)]
    assert "2" in browser.find_elements(*by_testid("final-report"))[0].text
    WebDriverWait(browser, 10).until(EC.invisibility_of_element_located(by_testid("load-earlier")))


def test_sign_in_with_a_token_when_the_gateway_wants_one(browsers, deployments):
    herald = deployments.start("sign-in", jwt_secret=secrets.token_hex(32))
    browser = browsers.new()
    browser.get(herald.url)
    # No token: the gateway refuses the socket, and the page asks for one instead of retrying forever.
    dialog = WebDriverWait(browser, 30).until(EC.visibility_of_element_located(by_testid("signin-dialog")))
    assert browser.find_element(*by_testid("connection-status")).get_attribute("data-state") == "offline"
    dialog.find_element(*by_testid("signin-token")).send_keys(herald.token("carol"))
    dialog.find_element(*by_testid("signin-submit")).click()
    wait_online(browser)
    assert browser.find_element(*by_testid("user-id")).text == "carol"
    send_message(browser, "what is 4+4?")
    wait_run_status(browser, last_run(browser), "completed")
    assert "8" in browser.find_element(*by_testid("final-report")).text


def test_an_expired_token_is_renewed_without_a_reload(browsers, deployments):
    # No leeway: the gateway closes the socket at `exp` itself (by default it allows 30 s of clock skew past it).
    herald = deployments.start("token-expiry", jwt_secret=secrets.token_hex(32), env={"HERALD_JWT_LEEWAY_SECONDS": "0"})
    browser = browsers.new()
    browser.get(f"{herald.url}?token={herald.token('dave', lifetime_seconds=5)}")
    wait_online(browser)
    browser.execute_script("window.__samePage = true")
    # At expiry the gateway closes with 4401; the client asks the page (getToken), which asks the person.
    dialog = WebDriverWait(browser, 30).until(EC.visibility_of_element_located(by_testid("signin-dialog")))
    assert browser.find_element(*by_testid("connection-status")).get_attribute("data-state") != "online"
    fresh = herald.token("dave")
    dialog.find_element(*by_testid("signin-token")).send_keys(fresh)
    dialog.find_element(*by_testid("signin-submit")).click()
    wait_online(browser)
    assert browser.execute_script("return window.__samePage") is True
    assert browser.execute_script("return localStorage.getItem('herald.jwt')") == fresh
    assert browser.find_element(*by_testid("user-id")).text == "dave"
