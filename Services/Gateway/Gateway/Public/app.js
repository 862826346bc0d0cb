// Herald chat page, built on herald-client.js: conversations from the server, each run's steps live
// as they happen, answers in safe markdown. Plain browser JavaScript, no build step, nothing fetched
// from elsewhere.

import { HeraldClient } from "/herald-client.js";
import { renderMarkdown, copyCodeBlock } from "/markdown.js";

const STORAGE = {
  guestToken: "herald.token",
  jwt: "herald.jwt",
  current: "herald.currentThread",
};
const THREADS_PAGE = 30;
const MESSAGES_PAGE = 40;
const NARROW = window.matchMedia("(max-width: 760px)");

const $ = (selector) => document.querySelector(selector);
const ui = {
  main: $("main"),
  conversation: $("[data-testid=conversation]"),
  turns: $("[data-testid=turns]"),
  loadEarlier: $("[data-testid=load-earlier]"),
  empty: $("[data-testid=empty-state]"),
  input: $("[data-testid=message-input]"),
  send: $("[data-testid=send-button]"),
  composer: $("[data-testid=composer]"),
  status: $("[data-testid=connection-status]"),
  liveStatus: $("[data-testid=run-status-line]"),
  banner: $("[data-testid=error-banner]"),
  bannerText: $("[data-testid=error-text]"),
  threadList: $("[data-testid=thread-list]"),
  moreThreads: $("[data-testid=more-threads]"),
  threadsEmpty: $("[data-testid=threads-empty]"),
  sidebar: $("[data-testid=sidebar]"),
  backdrop: $("[data-testid=drawer-backdrop]"),
  toggle: $("[data-testid=threads-toggle]"),
  user: $("[data-testid=user-id]"),
  signOut: $("[data-testid=sign-out]"),
  deleteDialog: $("[data-testid=delete-dialog]"),
  signinDialog: $("[data-testid=signin-dialog]"),
};

// ------------------------------------------------------------------ state

/** Threads from the server, most recent first (THREAD objects of the API). */
let threads = [];
let threadsCursor = null;
let currentThreadId = localStorage.getItem(STORAGE.current) || null;
/** What is shown of the current thread: its turns by run id, the runs drawn from events, paging. */
let view = newView(null);
let client = null;
let opened = false;

function newView(threadId) {
  return {
    threadId,
    /** run id → turn: {el, userEl, slot, content, run}. */
    turns: new Map(),
    /** Runs whose stored assistant message is final: their replayed events are not drawn again. */
    settledRuns: new Set(),
    messagesCursor: null,
    /** While the history replays after opening: runs older than the loaded messages are left out. */
    catchingUp: false,
    passedKnownRun: false,
    skippedRuns: new Set(),
    activeRunId: null,
  };
}

// ------------------------------------------------------------------ DOM helpers

/** Creates an element; text goes in as text, never as HTML. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

const ICON_PATHS = {
  pencil: "M4 20h4L18.5 9.5a2.12 2.12 0 0 0-4-4L4 16v4zM13.5 6.5l4 4",
  trash: "M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
};

/** A small line icon (drawn, not an emoji: not every system has an emoji font). */
function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const attributes = { viewBox: "0 0 24 24", width: "15", height: "15", fill: "none", stroke: "currentColor",
    "stroke-width": "2", "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": "true" };
  for (const [name, value] of Object.entries(attributes)) svg.setAttribute(name, value);
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICON_PATHS[name]);
  svg.append(path);
  return svg;
}

function pretty(value) {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value, null, 2);
}

function seconds(ms) {
  return typeof ms === "number" ? `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s` : "";
}

function nearBottom() {
  const c = ui.conversation;
  return c.scrollHeight - c.scrollTop - c.clientHeight < 120;
}

/** Keeps the newest step in view unless the reader scrolled up to look at something. */
function followIfReading(wasNearBottom) {
  if (wasNearBottom) ui.conversation.scrollTop = ui.conversation.scrollHeight;
}

let bannerTimer = null;

function showError(message) {
  ui.bannerText.textContent = message;
  ui.banner.hidden = false;
  clearTimeout(bannerTimer);
  bannerTimer = setTimeout(() => (ui.banner.hidden = true), 10000);
}

/** The one live region: what the current thread's run is doing, said once per change. */
function announce(text) {
  if (ui.liveStatus.textContent !== text) ui.liveStatus.textContent = text;
}

const CONNECTION_LABELS = {
  connecting: ["connecting", "connecting…"],
  open: ["online", "online"],
  reconnecting: ["reconnecting", "reconnecting…"],
  closed: ["offline", "offline"],
};

function showConnection(state) {
  const [name, label] = CONNECTION_LABELS[state] ?? ["offline", state];
  ui.status.className = `status status-${name}`;
  ui.status.textContent = label;
  ui.status.dataset.state = name;
  updateComposer();
}

function updateComposer() {
  ui.send.disabled = !(client?.state === "open" && ui.input.value.trim().length > 0);
}

// ------------------------------------------------------------------ thread list

function threadById(id) {
  return threads.find((thread) => thread.thread_id === id);
}

async function loadThreads({ more = false } = {}) {
  try {
    const page = await client.listThreads({ limit: THREADS_PAGE, cursor: more ? threadsCursor : undefined });
    const fetched = page.threads ?? [];
    if (more) {
      const known = new Set(threads.map((thread) => thread.thread_id));
      threads.push(...fetched.filter((thread) => !known.has(thread.thread_id)));
    } else {
      // Keep a thread created here a moment ago that the list does not show yet.
      const fresh = threads.filter((thread) => thread.local && !fetched.some((t) => t.thread_id === thread.thread_id));
      threads = [...fresh, ...fetched];
    }
    threadsCursor = page.next_cursor ?? null;
  } catch (error) {
    showError(`Could not load your conversations: ${error.message}`);
  }
  renderThreadList();
}

function renderThreadList() {
  ui.threadList.replaceChildren(...threads.map(threadRow));
  ui.moreThreads.hidden = !threadsCursor;
  ui.threadsEmpty.hidden = threads.length > 0;
}

function threadRow(thread) {
  const current = thread.thread_id === currentThreadId;
  const title = thread.title || "New chat";
  return el(
    "li",
    { class: `thread-row${current ? " current" : ""}`, "data-testid": "thread-row", "data-thread-id": thread.thread_id },
    el(
      "button",
      {
        type: "button",
        class: "thread-item",
        "data-testid": "thread-item",
        "data-thread-id": thread.thread_id,
        "aria-current": current ? "page" : null,
        title: thread.preview ? `${title}\n${thread.preview}` : title,
        onclick: () => openThread(thread.thread_id),
      },
      thread.active_run_id ? el("span", { class: "busy-dot", "data-testid": "thread-busy", "aria-label": "running" }) : null,
      el("span", { class: "thread-title", text: title }),
    ),
    el("button", {
      type: "button", class: "row-action", "data-testid": "rename-thread", "aria-label": `Rename “${title}”`, title: "Rename",
      onclick: (event) => startRename(event.currentTarget.closest("li"), thread),
    }, icon("pencil")),
    el("button", {
      type: "button", class: "row-action", "data-testid": "delete-thread", "aria-label": `Delete “${title}”`, title: "Delete",
      onclick: () => confirmDelete(thread),
    }, icon("trash")),
  );
}

function startRename(row, thread) {
  const field = el("input", {
    class: "rename-input", "data-testid": "thread-title-input", value: thread.title || "", maxlength: "200", "aria-label": "New title",
  });
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    const title = field.value.trim();
    if (!save || !title || title === thread.title) {
      renderThreadList();
      return;
    }
    try {
      const updated = await client.renameThread(thread.thread_id, title);
      Object.assign(thread, updated ?? { title });
    } catch (error) {
      showError(`Could not rename: ${error.message}`);
    }
    renderThreadList();
  };
  field.addEventListener("keydown", (event) => {
    if (event.key === "Enter") finish(true);
    if (event.key === "Escape") {
      event.stopPropagation(); // Escape here cancels the rename, not the drawer.
      finish(false);
    }
  });
  field.addEventListener("blur", () => finish(true));
  row.replaceChildren(field);
  field.focus();
  field.select();
}

function confirmDelete(thread) {
  ui.deleteDialog.querySelector("[data-testid=delete-dialog-title]").textContent = thread.title || "New chat";
  ui.deleteDialog.returnValue = "";
  ui.deleteDialog.onclose = async () => {
    if (ui.deleteDialog.returnValue !== "delete") return;
    try {
      await client.deleteThread(thread.thread_id);
    } catch (error) {
      // Already gone is what was wanted.
      if (error.status !== 404) {
        showError(`Could not delete: ${error.message}`);
        return;
      }
    }
    threads = threads.filter((t) => t.thread_id !== thread.thread_id);
    if (currentThreadId === thread.thread_id) showThread(null);
    renderThreadList();
  };
  ui.deleteDialog.showModal();
}

// ------------------------------------------------------------------ drawer (narrow screens)

function setDrawer(open) {
  const narrow = NARROW.matches;
  const shown = narrow && open;
  ui.sidebar.classList.toggle("open", shown);
  // Off screen on a phone: out of the tab order and the accessibility tree too. Open, it is modal:
  // the conversation behind the backdrop is out of reach until it closes.
  ui.sidebar.inert = narrow && !open;
  ui.main.inert = shown;
  ui.backdrop.hidden = !shown;
  ui.toggle.setAttribute("aria-expanded", String(shown));
  if (shown) (ui.sidebar.querySelector("[aria-current]") ?? ui.sidebar.querySelector("button"))?.focus();
}

function closeDrawer({ restoreFocus = false } = {}) {
  if (!ui.sidebar.classList.contains("open")) return;
  setDrawer(false);
  if (restoreFocus) ui.toggle.focus();
}

// ------------------------------------------------------------------ opening a thread

/** Shows a thread: its stored messages, then its live events. `null` is a new chat. */
async function openThread(threadId) {
  closeDrawer();
  if (threadId === view.threadId && threadId) return;
  showThread(threadId);
  if (!threadId) return;
  const shown = view;
  try {
    const page = await client.listMessages(threadId, { limit: MESSAGES_PAGE });
    if (view !== shown) return;
    renderMessages(page.messages ?? [], { prepend: false });
    view.messagesCursor = page.next_cursor ?? null;
    ui.loadEarlier.hidden = !view.messagesCursor;
    ui.conversation.scrollTop = ui.conversation.scrollHeight;
  } catch (error) {
    if (view !== shown) return;
    if (error.status === 404) {
      threads = threads.filter((thread) => thread.thread_id !== threadId);
      renderThreadList();
      showThread(null);
      showError("That conversation no longer exists.");
      return;
    }
    showError(`Could not load the conversation: ${error.message}`);
  }
  watchCurrent();
}

/** Subscribes to the current thread from the start of its history: runs not settled in messages are drawn from events. */
function watchCurrent() {
  const threadId = view.threadId;
  if (!threadId) return;
  view.catchingUp = true;
  view.activeRunId = threadById(threadId)?.active_run_id ?? null;
  client.watch(threadId, { afterSeq: 0 }).catch((error) => {
    if (view.threadId !== threadId) return;
    if (error.code === "rate_limited") {
      // This connection watches as many threads as it may: a new one starts with only the open thread.
      for (const id of client.watchedThreads) if (id !== threadId) client.unwatch(id);
      client.reconnect();
      return;
    }
    if (error.code !== "unwatched") showError(`Live updates stopped: ${error.message}`);
  });
}

function showThread(threadId) {
  if (view.threadId && view.threadId !== threadId) client?.unwatch(view.threadId);
  currentThreadId = threadId;
  if (threadId) localStorage.setItem(STORAGE.current, threadId);
  else localStorage.removeItem(STORAGE.current);
  view = newView(threadId);
  ui.turns.replaceChildren();
  ui.loadEarlier.hidden = true;
  ui.empty.hidden = Boolean(threadId);
  announce("");
  renderThreadList();
  if (!NARROW.matches) ui.input.focus();
}

async function loadEarlierMessages() {
  const shown = view;
  if (!shown.messagesCursor) return;
  ui.loadEarlier.disabled = true;
  try {
    const page = await client.listMessages(shown.threadId, { before: shown.messagesCursor, limit: MESSAGES_PAGE });
    if (view !== shown) return;
    // Keep what the reader looks at in place while older turns go in above it.
    const fromBottom = ui.conversation.scrollHeight - ui.conversation.scrollTop;
    renderMessages(page.messages ?? [], { prepend: true });
    ui.conversation.scrollTop = ui.conversation.scrollHeight - fromBottom;
    shown.messagesCursor = page.next_cursor ?? null;
    ui.loadEarlier.hidden = !shown.messagesCursor;
  } catch (error) {
    showError(`Could not load earlier messages: ${error.message}`);
  } finally {
    ui.loadEarlier.disabled = false;
  }
}

/** Draws stored messages as turns; a run still streaming is left to its events. */
function renderMessages(messages, { prepend }) {
  const fragment = document.createDocumentFragment();
  for (const message of messages) {
    const runId = message.run_id;
    let turn = view.turns.get(runId);
    if (!turn) {
      turn = newTurn(runId, message.role === "user" ? message.content : null);
      fragment.append(turn.el);
    } else if (message.role === "user" && !turn.content) {
      setUserText(turn, message.content);
    }
    if (message.role === "assistant" && message.status !== "streaming" && !turn.run) {
      view.settledRuns.add(runId);
      drawStoredAnswer(turn, message);
    }
  }
  if (prepend) ui.turns.prepend(fragment);
  else ui.turns.append(fragment);
  const last = lastTurn();
  if (last?.run) showRetryIfLast(last.run);
}

/** Each turn's element → the turn, for turns not yet tied to a run id too. */
const turnOfElement = new WeakMap();

function lastTurn() {
  const node = ui.turns.lastElementChild;
  return node ? turnOfElement.get(node) ?? null : null;
}

// ------------------------------------------------------------------ turns

/** One exchange: the user's words, then the run that answers them. */
function newTurn(runId, content) {
  const userEl = el("div", { class: "user-message", "data-testid": "user-message" });
  const slot = el("div", { class: "run-slot" });
  const turn = { el: el("div", { class: "turn", "data-testid": "turn" }, userEl, slot), userEl, slot, content: null, run: null, runId };
  if (content) setUserText(turn, content);
  else userEl.hidden = true;
  if (runId) view.turns.set(runId, turn);
  turnOfElement.set(turn.el, turn);
  return turn;
}

function setUserText(turn, content) {
  turn.content = content;
  // The user's own words are shown as typed: plain text, never markup.
  turn.userEl.textContent = content;
  turn.userEl.hidden = false;
}

/** The card of a run: status, agents and tools, the answer, the footer. */
function newRunCard(turn, runId) {
  const run = {
    id: runId,
    turn,
    agents: new Map(),
    tools: new Map(),
    approvals: new Map(),
    answerText: "",
    renderPending: false,
    startedAt: null,
    ended: false,
    retryable: false,
  };
  run.status = el("span", { class: "run-status", "data-testid": "run-status", "data-status": "queued", text: "queued" });
  run.elapsed = el("span", { class: "run-elapsed", "data-testid": "run-elapsed" });
  run.stop = el("button", { type: "button", class: "stop", "data-testid": "stop-button", title: "Stop this run", text: "Stop", onclick: () => cancelRun(run) });
  run.stepsBody = el("div", { class: "steps", "data-testid": "steps" });
  run.steps = el("details", { class: "steps-box", open: true }, el("summary", { text: "Steps" }), run.stepsBody);
  run.answer = el("div", { class: "answer markdown", "data-testid": "answer", hidden: true });
  run.report = el("div", { class: "final-report markdown", "data-testid": "final-report", hidden: true });
  run.footer = el("div", { class: "run-footer" });
  run.card = el(
    "div",
    { class: "run", "data-testid": "run", "data-run-id": runId ?? "" },
    el("div", { class: "run-header" }, run.status, run.elapsed, run.stop),
    run.steps,
    run.answer,
    run.report,
    run.footer,
  );
  turn.run = run;
  turn.slot.replaceChildren(run.card);
  return run;
}

/** The turn and run card of an event's run, made when its first event comes. */
function runFor(frame) {
  let turn = view.turns.get(frame.run_id);
  if (!turn) {
    turn = newTurn(frame.run_id, null);
    ui.turns.append(turn.el);
    ui.empty.hidden = true;
  }
  return turn.run ?? newRunCard(turn, frame.run_id);
}

function setRunStatus(run, state) {
  run.status.dataset.status = state;
  run.status.textContent = state;
  const active = state === "queued" || state === "running" || state === "cancelling";
  run.stop.hidden = !active;
  if (lastTurn()?.run === run) announce(STATUS_WORDS[state] ?? state);
}

const STATUS_WORDS = {
  queued: "Queued",
  running: "Working…",
  cancelling: "Stopping…",
  completed: "Answer complete",
  cancelled: "Stopped",
  failed: "The run failed",
};

function cancelRun(run) {
  if (run.ended || !run.id) return;
  if (client.cancelRun(run.id)) setRunStatus(run, "cancelling");
  else showError("Not connected; reconnecting…");
}

// ------------------------------------------------------------------ stored answers

function drawStoredAnswer(turn, message) {
  const run = newRunCard(turn, message.run_id);
  run.ended = true;
  run.steps.open = false;
  const calls = message.tool_calls ?? [];
  if (calls.length) {
    const agent = agentNode(run, "assistant");
    for (const call of calls) {
      const tool = toolNode(agent, call);
      completeTool(tool, call);
    }
    finishAgent(agent, "success", "done");
  } else {
    run.steps.hidden = true;
  }
  if (message.content) showReport(run, message.content);
  const state = { complete: "completed", cancelled: "cancelled", error: "failed" }[message.status] ?? "completed";
  run.status.dataset.status = state;
  run.status.textContent = state;
  run.stop.hidden = true;
  run.retryable = state === "failed";
}

// ------------------------------------------------------------------ live events

function agentNode(run, name, parentName) {
  const existing = run.agents.get(name);
  if (existing) return existing;
  const parent = parentName ? run.agents.get(parentName) : null;
  const state = el("span", { class: "agent-state", "data-testid": "agent-state", text: "running" });
  const spinner = el("span", { class: "spinner", "data-testid": "agent-running", "aria-hidden": "true" });
  const thought = el("div", { class: "thought", "data-testid": "agent-thought", hidden: true });
  const body = el("div", { class: "agent-body" });
  const node = el(
    "div",
    { class: "agent running", "data-testid": "agent", "data-agent-name": name },
    el("div", { class: "agent-head" }, spinner, el("span", { class: "agent-name", text: name }), state),
    thought,
    body,
  );
  (parent ? parent.body : run.stepsBody).append(node);
  const agent = { name, node, state, spinner, thought, body };
  run.agents.set(name, agent);
  return agent;
}

function finishAgent(agent, state, label) {
  agent.node.classList.remove("running");
  if (state === "failed") agent.node.classList.add("failed");
  agent.spinner.remove();
  agent.state.textContent = label;
  agent.node.dataset.state = state;
}

function toolNode(agent, payload) {
  const state = el("span", { class: "tool-state", "data-testid": "tool-status", "data-status": "running", text: "running…" });
  const node = el(
    "div",
    { class: "tool", "data-testid": "tool-call", "data-tool-name": payload.tool_name, "data-tool-call-id": payload.tool_call_id },
    el("div", { class: "tool-head" }, el("span", { class: "tool-name", text: payload.tool_name }), state),
    el("pre", { class: "tool-arguments", "data-testid": "tool-arguments", text: pretty(payload.arguments ?? {}) }),
  );
  agent.body.append(node);
  return { node, state };
}

function completeTool(tool, payload) {
  tool.state.dataset.status = payload.status;
  tool.state.textContent = payload.duration_ms === undefined ? payload.status : `${payload.status} · ${seconds(payload.duration_ms)}`;
  tool.node.dataset.status = payload.status;
  if (payload.result !== undefined && payload.result !== null) {
    tool.node.append(el("pre", { class: "tool-result", "data-testid": "tool-result", text: pretty(payload.result) }));
  }
  if (payload.error) {
    tool.node.append(el("pre", { class: "tool-error", "data-testid": "tool-error", text: pretty(payload.error) }));
  }
}

/**
 * Whether an event of the current thread is drawn. Runs drawn from stored messages are not drawn again.
 * The history replayed after opening a thread holds older runs too: in seq order, a run not loaded yet
 * that comes before every loaded one is older than the loaded page ("Load earlier" brings it); one
 * after them, or the active run, is new.
 */
function shouldDraw(frame) {
  const runId = frame.run_id;
  const known = view.turns.has(runId);
  if (known) view.passedKnownRun = true;
  if (view.settledRuns.has(runId) || view.skippedRuns.has(runId)) return false;
  if (known || !view.catchingUp || !view.messagesCursor || view.passedKnownRun || runId === view.activeRunId) return true;
  view.skippedRuns.add(runId);
  return false;
}

/** Renders one event of the current thread into its run. */
function applyEvent(frame) {
  if (!shouldDraw(frame)) return;
  const wasNearBottom = nearBottom();
  const run = runFor(frame);
  const payload = frame.payload ?? {};
  if (!run.startedAt) run.startedAt = Date.parse(frame.timestamp) || Date.now();
  if (!run.ended && run.status.dataset.status === "queued") setRunStatus(run, "running");
  const handler = EVENT_HANDLERS[frame.type];
  if (handler) handler(run, payload, frame);
  followIfReading(wasNearBottom);
}

const EVENT_HANDLERS = {
  agent_started(run, payload, frame) {
    const name = payload.agent_name || frame.agent_name;
    const agent = agentNode(run, name, payload.parent_agent);
    if (payload.attempt > 1) agent.state.textContent = `running (attempt ${payload.attempt})`;
    // The supervisor's input is the user's message: how another tab or device learns what was asked.
    if (!payload.parent_agent && payload.input?.content && !run.turn.content) setUserText(run.turn, payload.input.content);
  },
  agent_thinking(run, payload, frame) {
    const agent = agentNode(run, frame.agent_name);
    const step = payload.step_number ? `Step ${payload.step_number}${payload.total_steps ? `/${payload.total_steps}` : ""}: ` : "";
    agent.thought.textContent = step + (payload.thought || "");
    agent.thought.hidden = false;
  },
  tool_executing(run, payload, frame) {
    const agent = agentNode(run, frame.agent_name);
    run.tools.set(payload.tool_call_id, toolNode(agent, payload));
  },
  tool_completed(run, payload, frame) {
    // Its start may be before what history still holds: the outcome shows anyway.
    const tool = run.tools.get(payload.tool_call_id) ?? toolNode(agentNode(run, frame.agent_name), payload);
    completeTool(tool, payload);
    run.approvals.get(payload.tool_call_id)?.settle(payload.status === "denied" ? "denied" : null);
  },
  approval_requested(run, payload, frame) {
    const tool = run.tools.get(payload.tool_call_id) ?? toolNode(agentNode(run, frame.agent_name), payload);
    run.tools.set(payload.tool_call_id, tool);
    tool.state.dataset.status = "awaiting_approval";
    tool.state.textContent = "awaiting approval";
    const panel = approvalPanel(payload);
    run.approvals.set(payload.tool_call_id, panel);
    tool.node.append(panel.node);
    if (lastTurn()?.run === run) announce(`Approval needed for ${payload.tool_name}`);
  },
  approval_resolved(run, payload) {
    run.approvals.get(payload.tool_call_id)?.resolved(payload);
  },
  partial_result(run, payload) {
    run.answerText += payload.content || "";
    run.answer.hidden = false;
    run.answer.classList.toggle("streaming", !payload.is_complete && !run.ended);
    scheduleAnswerRender(run);
  },
  final_report(run, payload) {
    showReport(run, payload.report || "");
    if (payload.usage) showUsage(run, payload.usage);
  },
  agent_completed(run, payload, frame) {
    const agent = run.agents.get(payload.agent_name || frame.agent_name);
    if (agent) finishAgent(agent, payload.status, `${payload.status} · ${seconds(payload.duration_ms)}`);
    if (frame.agent_name === "supervisor") endRun(run, payload.status === "cancelled" ? "cancelled" : "completed", frame);
  },
  agent_error(run, payload, frame) {
    const agent = agentNode(run, payload.agent_name || frame.agent_name);
    finishAgent(agent, "failed", `error: ${payload.code}`);
    agent.body.append(el("div", { class: "agent-error", "data-testid": "agent-error", text: `${payload.code}: ${payload.message}` }));
    if (payload.retryable) run.retryable = true;
    if (frame.agent_name === "supervisor") {
      run.error = payload;
      endRun(run, payload.code === "cancelled" && !payload.retryable ? "cancelled" : "failed", frame);
    }
  },
};

/** Streamed text is drawn at most once a frame: markdown of a long answer is not parsed per word. */
function scheduleAnswerRender(run) {
  if (run.renderPending) return;
  run.renderPending = true;
  requestAnimationFrame(() => {
    run.renderPending = false;
    if (run.answer.hidden) return;
    const wasNearBottom = nearBottom();
    run.answer.replaceChildren(renderMarkdown(run.answerText));
    followIfReading(wasNearBottom);
  });
}

function showReport(run, text) {
  run.report.replaceChildren(renderMarkdown(text));
  run.report.hidden = false;
  // The report is the whole answer: the streamed copy would only repeat it.
  run.answer.hidden = true;
  run.answer.classList.remove("streaming");
}

function showUsage(run, usage) {
  const total = usage.total_tokens ?? (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0);
  const detail = usage.prompt_tokens !== undefined ? ` (${usage.prompt_tokens} in · ${usage.completion_tokens ?? 0} out)` : "";
  run.footer.querySelector("[data-testid=token-usage]")?.remove();
  run.footer.append(el("span", { class: "token-usage", "data-testid": "token-usage", title: "Tokens this run used", text: `${total} tokens${detail}` }));
}

function endRun(run, state, frame) {
  run.ended = true;
  setRunStatus(run, state);
  run.answer.classList.remove("streaming");
  if (!run.answer.hidden) scheduleAnswerRender(run);
  for (const agent of run.agents.values()) {
    if (agent.node.classList.contains("running")) finishAgent(agent, "stopped", "stopped");
  }
  for (const panel of run.approvals.values()) panel.settle("cancelled");
  const end = Date.parse(frame.timestamp);
  if (run.startedAt && end) run.elapsed.textContent = seconds(end - run.startedAt);
  if (state === "failed" && run.error) {
    run.footer.prepend(el("span", { class: "run-error", "data-testid": "run-error", text: run.error.message || run.error.code }));
    announce(`The run failed: ${run.error.message || run.error.code}`);
  }
  showRetryIfLast(run);
  markThreadIdle(view.threadId, run.id);
}

/** A failed run that may succeed when sent again gets a Retry button, on the last turn only. */
function showRetryIfLast(run) {
  for (const old of ui.turns.querySelectorAll("[data-testid=retry-button]")) old.remove();
  if (!run.retryable || !run.turn.content || lastTurn()?.run !== run) return;
  run.footer.append(el("button", {
    type: "button", class: "retry", "data-testid": "retry-button", text: "Retry",
    onclick: (event) => {
      event.currentTarget.remove();
      send(run.turn.content);
    },
  }));
}

// ------------------------------------------------------------------ approvals

/** Approve or deny a tool call, its arguments editable as JSON, with the time left to decide. */
function approvalPanel(payload) {
  const argumentsField = el("textarea", {
    class: "approval-arguments", "data-testid": "approval-arguments", rows: "4", spellcheck: "false",
    "aria-label": `Arguments for ${payload.tool_name} (JSON)`,
  });
  argumentsField.value = pretty(payload.arguments ?? {});
  const problem = el("div", { class: "approval-problem", "data-testid": "approval-problem", hidden: true });
  const timeLeft = el("span", { class: "approval-time", "data-testid": "approval-time-left" });
  const state = el("span", { class: "approval-state", "data-testid": "approval-state", text: "waiting for you" });
  const approve = el("button", { type: "button", class: "approve", "data-testid": "approve-button", text: "Approve" });
  const deny = el("button", { type: "button", class: "deny", "data-testid": "deny-button", text: "Deny" });
  const node = el(
    "div",
    { class: "approval", "data-testid": "approval", "data-approval-id": payload.approval_id },
    el("div", { class: "approval-head" }, el("strong", { text: `Approve ${payload.tool_name}?` }), state, timeLeft),
    argumentsField,
    problem,
    el("div", { class: "approval-actions" }, approve, deny),
  );
  const expiresAt = Date.parse(payload.expires_at);
  let timer = null;
  const controls = [argumentsField, approve, deny];
  const settle = (label) => {
    clearInterval(timer);
    for (const control of controls) control.disabled = true;
    timeLeft.textContent = "";
    if (label && node.dataset.state === undefined) {
      node.dataset.state = label;
      state.textContent = label;
    }
  };
  const tick = () => {
    const left = Math.round((expiresAt - Date.now()) / 1000);
    if (!Number.isFinite(left)) return;
    if (left <= 0) return settle("expired");
    timeLeft.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")} left`;
  };
  tick();
  timer = setInterval(tick, 1000);

  const parsedArguments = () => {
    const original = pretty(payload.arguments ?? {});
    if (argumentsField.value.trim() === original.trim()) return { ok: true, value: undefined };
    try {
      const value = JSON.parse(argumentsField.value);
      if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("the arguments must be a JSON object");
      return { ok: true, value };
    } catch (error) {
      return { ok: false, message: error.message };
    }
  };
  argumentsField.addEventListener("input", () => {
    const parsed = parsedArguments();
    problem.hidden = parsed.ok;
    problem.textContent = parsed.ok ? "" : `Not valid JSON: ${parsed.message}`;
    approve.disabled = !parsed.ok;
  });
  const decide = async (decision) => {
    const parsed = parsedArguments();
    if (decision === "approve" && !parsed.ok) return;
    for (const control of controls) control.disabled = true;
    state.textContent = "sending…";
    try {
      await client.respondToApproval(payload.approval_id, decision, decision === "approve" ? { arguments: parsed.value } : {});
    } catch (error) {
      const words = { conflict: "already decided elsewhere", unknown_type: "this server cannot take approvals yet" };
      problem.textContent = `Not sent: ${words[error.code] ?? error.message}`;
      problem.hidden = false;
      state.textContent = "waiting for you";
      if (error.code !== "conflict") for (const control of controls) control.disabled = false;
    }
  };
  approve.addEventListener("click", () => decide("approve"));
  deny.addEventListener("click", () => decide("deny"));

  return {
    node,
    settle,
    resolved(resolution) {
      settle(resolution.decision);
      if (resolution.arguments !== undefined) argumentsField.value = pretty(resolution.arguments);
      if (resolution.decided_by) state.textContent = `${resolution.decision} by ${resolution.decided_by}`;
    },
  };
}

// ------------------------------------------------------------------ sending

async function send(content) {
  if (client.state !== "open") {
    showError("Not connected; reconnecting…");
    return false;
  }
  const threadId = view.threadId;
  const shown = view;
  const turn = newTurn(null, content);
  ui.turns.append(turn.el);
  ui.empty.hidden = true;
  const run = newRunCard(turn, null);
  setRunStatus(run, "queued");
  ui.conversation.scrollTop = ui.conversation.scrollHeight;
  let queued;
  try {
    queued = await client.sendMessage(content, { threadId: threadId ?? undefined });
  } catch (error) {
    turn.el.remove();
    const words = {
      thread_busy: "A run is still active in this conversation; wait for it or press Stop.",
      too_large: "That message is too large.",
      not_connected: "Not connected; reconnecting…",
    };
    showError(words[error.code] ?? error.message);
    ui.input.value ||= content;
    autosize();
    updateComposer();
    return false;
  }
  if (view !== shown && threadId) return true;
  attachRun(turn, queued);
  if (!threadId) adoptNewThread(queued.thread_id, content);
  markThreadBusy(queued.thread_id, queued.run_id);
  return true;
}

/** run_queued came: the turn belongs to that run, and events may already be drawing into it. */
function attachRun(turn, queued) {
  const early = view.turns.get(queued.run_id);
  if (early && early !== turn) {
    // Its events came first (another tab's resume, a fast worker): keep their card, with the words from here.
    early.el.remove();
    turn.slot.replaceChildren(early.run.card);
    turn.run = early.run;
    early.run.turn = turn;
  } else {
    turn.run.id = queued.run_id;
    turn.run.card.dataset.runId = queued.run_id;
    if (turn.run.status.dataset.status === "queued") setRunStatus(turn.run, "queued");
  }
  turn.runId = queued.run_id;
  view.turns.set(queued.run_id, turn);
}

/** The first message of a new chat made a thread: it becomes the current one and tops the list. */
function adoptNewThread(threadId, content) {
  if (view.threadId) return;
  view.threadId = threadId;
  currentThreadId = threadId;
  localStorage.setItem(STORAGE.current, threadId);
  const now = new Date().toISOString();
  threads.unshift({ thread_id: threadId, title: content.slice(0, 80), created_at: now, updated_at: now, preview: content, local: true });
  renderThreadList();
}

function markThreadBusy(threadId, runId) {
  const thread = threadById(threadId);
  if (!thread) return;
  thread.active_run_id = runId;
  thread.updated_at = new Date().toISOString();
  // The list is most recent first: a conversation just written to goes to the top.
  threads = [thread, ...threads.filter((t) => t !== thread)];
  renderThreadList();
}

function markThreadIdle(threadId, runId) {
  const thread = threadById(threadId);
  if (!thread || (thread.active_run_id && thread.active_run_id !== runId)) return;
  delete thread.active_run_id;
  renderThreadList();
}

function submit(event) {
  event?.preventDefault();
  const content = ui.input.value.trim();
  if (!content || client.state !== "open") return;
  ui.input.value = "";
  autosize();
  updateComposer();
  send(content);
}

function autosize() {
  const input = ui.input;
  input.style.height = "auto";
  const limit = window.innerHeight * 0.4;
  input.style.height = `${Math.min(input.scrollHeight + 2, limit)}px`;
  input.style.overflowY = input.scrollHeight + 2 > limit ? "auto" : "hidden";
}

// ------------------------------------------------------------------ the client

/** `?token=` in the address is a sign-in: kept, then taken out of the address bar and history. */
function takeTokenFromAddress() {
  const url = new URL(location.href);
  const token = url.searchParams.get("token");
  if (!token) return;
  localStorage.setItem(STORAGE.jwt, token);
  url.searchParams.delete("token");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
}

function startClient() {
  const jwt = localStorage.getItem(STORAGE.jwt);
  ui.signOut.hidden = !jwt;
  client = new HeraldClient({
    token: jwt,
    guestToken: jwt ? null : localStorage.getItem(STORAGE.guestToken),
    // Signed in and the token expired (or was refused): ask the person for a fresh one, then carry on.
    getToken: jwt ? renewToken : undefined,
  });
  // Tests and curious developers reach the client from the console.
  window.heraldClient = client;
  client.on("state", ({ state }) => showConnection(state));
  client.on("guest_token", (token) => localStorage.setItem(STORAGE.guestToken, token));
  client.on("open", onOpen);
  client.on("event", (frame) => {
    if (frame.thread_id === view.threadId) applyEvent(frame);
  });
  client.on("resumed", (frame) => {
    if (frame.thread_id === view.threadId) view.catchingUp = false;
  });
  client.on("reset", ({ threadId }) => {
    // History lost events this page showed: draw the runs again from what history holds.
    if (threadId !== view.threadId) return;
    view.catchingUp = true;
    view.passedKnownRun = false;
    for (const [runId, turn] of view.turns) {
      if (view.settledRuns.has(runId) || !turn.run) continue;
      turn.slot.replaceChildren();
      turn.run = null;
    }
  });
  client.on("error", (frame) => {
    const words = { rate_limited: frame.message, forbidden: "That is not yours.", not_found: "Not found." };
    showError(words[frame.code] || frame.message || frame.code);
  });
  client.on("close", ({ code, willReconnect }) => {
    const words = {
      4429: "Too many open Herald tabs or windows for your account; close some and this one reconnects.",
      1009: "A message was too large for the connection.",
      1003: "The connection was refused a message it cannot read.",
    };
    if (words[code]) showError(words[code]);
    if (!willReconnect && code !== 1000) showError("Disconnected.");
  });
  client.on("unauthorized", ({ willRetry }) => {
    if (willRetry) {
      if (!localStorage.getItem(STORAGE.jwt)) localStorage.removeItem(STORAGE.guestToken);
      return;
    }
    localStorage.removeItem(STORAGE.jwt);
    askForToken();
  });
  showConnection(client.state);
  client.connect().catch(() => {});
}

async function onOpen(info) {
  ui.user.textContent = info.user_id;
  if (opened) {
    // A reconnect: the client resumes the watched thread itself; the list may have changed meanwhile.
    loadThreads();
    return;
  }
  opened = true;
  await loadThreads();
  if (currentThreadId && threadById(currentThreadId)) {
    const id = currentThreadId;
    view = newView(null);
    await openThread(id);
  } else {
    showThread(null);
  }
}

/** Shows the sign-in dialog; resolves with the token typed, or null when dismissed. */
function promptForToken() {
  const field = ui.signinDialog.querySelector("[data-testid=signin-token]");
  field.value = "";
  return new Promise((resolve) => {
    ui.signinDialog.onclose = () => resolve(field.value.trim() || null);
    if (!ui.signinDialog.open) ui.signinDialog.showModal();
  });
}

async function renewToken({ reason }) {
  if (reason === "initial") return null;
  localStorage.removeItem(STORAGE.jwt);
  const token = await promptForToken();
  if (token) localStorage.setItem(STORAGE.jwt, token);
  return token;
}

/** No token this gateway takes: sign in, then start over as that user. */
async function askForToken() {
  const token = await promptForToken();
  if (!token) return askForToken();
  localStorage.setItem(STORAGE.jwt, token);
  location.reload();
}

// ------------------------------------------------------------------ wiring

ui.composer.addEventListener("submit", submit);
ui.input.addEventListener("input", () => {
  autosize();
  updateComposer();
});
ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submit(event);
});
$("[data-testid=new-thread]").addEventListener("click", () => openThread(null));
ui.moreThreads.addEventListener("click", () => loadThreads({ more: true }));
ui.loadEarlier.addEventListener("click", loadEarlierMessages);
$("[data-testid=error-close]").addEventListener("click", () => (ui.banner.hidden = true));
ui.signOut.addEventListener("click", () => {
  localStorage.removeItem(STORAGE.jwt);
  localStorage.removeItem(STORAGE.current);
  location.reload();
});
ui.conversation.addEventListener("click", (event) => {
  const copy = event.target.closest(".copy-code");
  if (copy) copyCodeBlock(copy);
});
ui.toggle.addEventListener("click", () => setDrawer(!ui.sidebar.classList.contains("open")));
ui.backdrop.addEventListener("click", () => closeDrawer({ restoreFocus: true }));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && ui.sidebar.classList.contains("open")) {
    event.preventDefault();
    closeDrawer({ restoreFocus: true });
  }
});
NARROW.addEventListener("change", () => setDrawer(false));
// Back to this tab: conversations started on other devices meanwhile show up.
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && client?.state === "open") loadThreads();
});
for (const button of document.querySelectorAll(".example")) {
  button.addEventListener("click", () => {
    ui.input.value = button.dataset.example;
    autosize();
    updateComposer();
    ui.input.focus();
  });
}

takeTokenFromAddress();
setDrawer(false);
autosize();
startClient();
