// Herald chat page: one WebSocket (herald.v1) to the gateway, every step of every run rendered as it arrives.
// Plain browser JavaScript, no build step, nothing fetched from elsewhere.
"use strict";

(() => {
  const STORAGE = {
    token: "herald.token",
    threads: "herald.threads",
    current: "herald.currentThread",
  };
  const PROTOCOL = "herald.v1";
  const MAX_THREADS = 30;

  // ---------------------------------------------------------------- state

  /** Known threads, newest first: {id, title, epoch, lastSeq, prompts: {runId: text}, activeRun}. */
  let threads = loadJSON(STORAGE.threads, []);
  let currentThreadId = localStorage.getItem(STORAGE.current) || null;
  let socket = null;
  let established = false;
  let reconnectAttempt = 0;
  let reconnectTimer = null;
  /** Messages sent and not yet answered by run_queued, by client_msg_id. */
  const pendingMessages = new Map();
  /** Resumes sent and not yet answered, by thread id: the after_seq and epoch asked for. */
  const pendingResumes = new Map();
  /** Rendered runs, by run id. */
  const runs = new Map();
  /** One view per thread, so events of background threads render too. */
  const threadViews = new Map();

  const $ = (selector) => document.querySelector(selector);
  const conversation = $("[data-testid=conversation]");
  const emptyState = $("[data-testid=empty-state]");
  const input = $("[data-testid=message-input]");
  const sendButton = $("[data-testid=send-button]");
  const statusBadge = $("[data-testid=connection-status]");
  const banner = $("[data-testid=error-banner]");
  const threadList = $("[data-testid=thread-list]");
  const sidebar = $("[data-testid=sidebar]");
  const threadsToggle = $("[data-testid=threads-toggle]");
  const userLabel = $("[data-testid=user-id]");

  function loadJSON(key, fallback) {
    try {
      const value = JSON.parse(localStorage.getItem(key));
      return value ?? fallback;
    } catch {
      return fallback;
    }
  }

  let saveScheduled = false;
  /** Saves thread positions at most a few times a second: streaming answers bring many events. */
  function saveThreads() {
    if (saveScheduled) return;
    saveScheduled = true;
    setTimeout(() => {
      saveScheduled = false;
      localStorage.setItem(STORAGE.threads, JSON.stringify(threads.slice(0, MAX_THREADS)));
    }, 250);
  }

  function findThread(id) {
    return threads.find((thread) => thread.id === id);
  }

  function ensureThread(id, title) {
    let thread = findThread(id);
    if (!thread) {
      thread = { id, title: title || "Conversation", epoch: null, lastSeq: 0, prompts: {}, activeRun: null };
      threads.unshift(thread);
      saveThreads();
      renderThreadList();
    }
    return thread;
  }

  // ---------------------------------------------------------------- DOM helpers

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

  function pretty(value) {
    if (value === undefined) return "";
    if (typeof value === "string") return value;
    return JSON.stringify(value, null, 2);
  }

  function seconds(ms) {
    return typeof ms === "number" ? `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s` : "";
  }

  function nearBottom() {
    return conversation.scrollHeight - conversation.scrollTop - conversation.clientHeight < 120;
  }

  /** Keeps the newest step in view unless the reader scrolled up to look at something. */
  function followIfReading(wasNearBottom) {
    if (wasNearBottom) conversation.scrollTop = conversation.scrollHeight;
  }

  function showError(message) {
    banner.textContent = message;
    banner.hidden = false;
    clearTimeout(showError.timer);
    showError.timer = setTimeout(() => (banner.hidden = true), 8000);
  }

  function setStatus(state, text) {
    statusBadge.className = `status status-${state}`;
    statusBadge.textContent = text;
    statusBadge.dataset.state = state;
    updateComposer();
  }

  function updateComposer() {
    sendButton.disabled = !(established && input.value.trim().length > 0);
  }

  // ---------------------------------------------------------------- threads

  function threadView(id) {
    let view = threadViews.get(id);
    if (!view) {
      view = el("div", { class: "thread-view", "data-testid": "thread-view", "data-thread-id": id, hidden: id !== currentThreadId });
      threadViews.set(id, view);
      conversation.append(view);
    }
    return view;
  }

  function selectThread(id) {
    currentThreadId = id;
    if (id) localStorage.setItem(STORAGE.current, id);
    else localStorage.removeItem(STORAGE.current);
    for (const [threadId, view] of threadViews) view.hidden = threadId !== id;
    if (id) threadView(id);
    emptyState.hidden = Boolean(id && findThread(id));
    renderThreadList();
    closeSidebar();
    conversation.scrollTop = conversation.scrollHeight;
    input.focus();
  }

  function renderThreadList() {
    threadList.replaceChildren(
      ...threads.map((thread) =>
        el(
          "li",
          {},
          el(
            "button",
            {
              type: "button",
              class: `thread-item${thread.id === currentThreadId ? " current" : ""}`,
              "data-testid": "thread-item",
              "data-thread-id": thread.id,
              title: thread.title,
              onclick: () => selectThread(thread.id),
            },
            thread.activeRun ? el("span", { class: "busy-dot", "aria-label": "running" }) : null,
            thread.title,
          ),
        ),
      ),
    );
  }

  function closeSidebar() {
    sidebar.classList.remove("open");
    threadsToggle.setAttribute("aria-expanded", "false");
  }

  // ---------------------------------------------------------------- runs

  /** The card of a run: the user's message, status, agents and tools, the answer and the report. */
  function runCard(threadId, runId) {
    let run = runs.get(runId);
    if (run) return run;
    const thread = ensureThread(threadId);
    const prompt = thread.prompts[runId];
    const status = el("span", { class: "run-status", "data-testid": "run-status", "data-status": "queued", text: "queued" });
    const elapsed = el("span", { class: "run-elapsed", "data-testid": "run-elapsed" });
    const stop = el("button", {
      type: "button",
      class: "stop",
      "data-testid": "stop-button",
      title: "Stop this run",
      text: "Stop",
      onclick: () => cancelRun(runId),
    });
    const steps = el("div", { class: "steps", "data-testid": "steps" });
    const answer = el("div", { class: "answer", "data-testid": "answer", hidden: true });
    const report = el("div", { class: "final-report", "data-testid": "final-report", hidden: true });
    const card = el(
      "div",
      { class: "run", "data-testid": "run", "data-run-id": runId },
      el("div", { class: "run-header" }, status, elapsed, stop),
      steps,
      answer,
      report,
    );
    const turn = el(
      "div",
      { class: "turn", "data-testid": "turn" },
      el("div", { class: "user-message", "data-testid": "user-message", text: prompt ?? "(message sent from another device)" }),
      card,
    );
    threadView(threadId).append(turn);
    run = { id: runId, threadId, card, status, elapsed, stop, steps, answer, report, agents: new Map(), tools: new Map(), startedAt: null, ended: false };
    runs.set(runId, run);
    return run;
  }

  function setRunStatus(run, state) {
    run.status.dataset.status = state;
    run.status.textContent = state;
    const active = state === "queued" || state === "running" || state === "cancelling";
    run.stop.hidden = !active;
    const thread = findThread(run.threadId);
    if (thread) {
      const activeRun = active ? run.id : thread.activeRun === run.id ? null : thread.activeRun;
      if (thread.activeRun !== activeRun) {
        thread.activeRun = activeRun;
        saveThreads();
        renderThreadList();
      }
    }
  }

  function cancelRun(runId) {
    const run = runs.get(runId);
    if (!run || run.ended) return;
    if (send({ type: "cancel_run", run_id: runId })) setRunStatus(run, "cancelling");
  }

  function agentNode(run, name, parentName) {
    const parent = parentName ? run.agents.get(parentName) : null;
    const state = el("span", { class: "agent-state", "data-testid": "agent-state", text: "running" });
    const spinner = el("span", { class: "spinner", "data-testid": "agent-running", "aria-label": "running" });
    const thought = el("div", { class: "thought", "data-testid": "agent-thought", hidden: true });
    const body = el("div", { class: "agent-body" });
    const node = el(
      "div",
      { class: "agent running", "data-testid": "agent", "data-agent-name": name },
      el("div", { class: "agent-head" }, spinner, el("span", { class: "agent-name", text: name }), state),
      thought,
      body,
    );
    (parent ? parent.body : run.steps).append(node);
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

  /** Renders one event frame into its run. */
  function applyEvent(frame) {
    const wasNearBottom = nearBottom();
    const run = runCard(frame.thread_id, frame.run_id);
    const payload = frame.payload || {};
    const agentName = frame.agent_name;
    if (!run.startedAt) run.startedAt = Date.parse(frame.timestamp) || Date.now();
    if (!run.ended && run.status.dataset.status === "queued") setRunStatus(run, "running");

    switch (frame.type) {
      case "agent_started": {
        const agent = agentNode(run, payload.agent_name || agentName, payload.parent_agent);
        if (payload.attempt > 1) agent.state.textContent = `running (attempt ${payload.attempt})`;
        break;
      }
      case "agent_thinking": {
        const agent = run.agents.get(agentName) || agentNode(run, agentName);
        const step = payload.step_number ? `Step ${payload.step_number}${payload.total_steps ? `/${payload.total_steps}` : ""}: ` : "";
        agent.thought.textContent = step + (payload.thought || "");
        agent.thought.hidden = false;
        break;
      }
      case "tool_executing": {
        const agent = run.agents.get(agentName) || agentNode(run, agentName);
        const state = el("span", { class: "tool-state", "data-testid": "tool-status", "data-status": "running", text: "running…" });
        const tool = el(
          "div",
          { class: "tool", "data-testid": "tool-call", "data-tool-name": payload.tool_name, "data-tool-call-id": payload.tool_call_id },
          el("div", { class: "tool-head" }, el("span", { class: "tool-name", text: payload.tool_name }), state),
          el("pre", { class: "tool-arguments", "data-testid": "tool-arguments", text: pretty(payload.arguments ?? {}) }),
        );
        agent.body.append(tool);
        run.tools.set(payload.tool_call_id, { node: tool, state });
        break;
      }
      case "tool_completed": {
        let tool = run.tools.get(payload.tool_call_id);
        if (!tool) {
          // Its start was before what history still holds: show the outcome anyway.
          const agent = run.agents.get(agentName) || agentNode(run, agentName);
          const state = el("span", { class: "tool-state", "data-testid": "tool-status" });
          const node = el("div", { class: "tool", "data-testid": "tool-call", "data-tool-name": payload.tool_name },
            el("div", { class: "tool-head" }, el("span", { class: "tool-name", text: payload.tool_name }), state));
          agent.body.append(node);
          tool = { node, state };
        }
        tool.state.dataset.status = payload.status;
        tool.state.textContent = `${payload.status} · ${seconds(payload.duration_ms)}`;
        tool.node.dataset.status = payload.status;
        if (payload.result !== undefined && payload.result !== null) {
          tool.node.append(el("pre", { class: "tool-result", "data-testid": "tool-result", text: pretty(payload.result) }));
        }
        if (payload.error) {
          tool.node.append(el("pre", { class: "tool-error", "data-testid": "tool-error", text: payload.error }));
        }
        break;
      }
      case "partial_result": {
        run.answer.hidden = false;
        run.answer.textContent += payload.content || "";
        run.answer.classList.toggle("streaming", !payload.is_complete && !run.ended);
        break;
      }
      case "final_report": {
        run.report.textContent = payload.report || "";
        run.report.hidden = false;
        // The report is the whole answer: the streamed copy would only repeat it.
        run.answer.hidden = true;
        run.answer.classList.remove("streaming");
        break;
      }
      case "agent_completed": {
        const agent = run.agents.get(payload.agent_name || agentName);
        if (agent) finishAgent(agent, payload.status, `${payload.status} · ${seconds(payload.duration_ms)}`);
        if (agentName === "supervisor") endRun(run, payload.status === "cancelled" ? "cancelled" : "completed", frame);
        break;
      }
      case "agent_error": {
        const agent = run.agents.get(payload.agent_name || agentName) || agentNode(run, agentName);
        finishAgent(agent, "failed", `error: ${payload.code}`);
        agent.body.append(el("div", { class: "agent-error", "data-testid": "agent-error", text: `${payload.code}: ${payload.message}` }));
        if (agentName === "supervisor") endRun(run, payload.code === "cancelled" ? "cancelled" : "failed", frame);
        break;
      }
      default:
        break;
    }
    followIfReading(wasNearBottom);
  }

  function endRun(run, state, frame) {
    run.ended = true;
    setRunStatus(run, state);
    run.answer.classList.remove("streaming");
    for (const agent of run.agents.values()) {
      if (agent.node.classList.contains("running")) finishAgent(agent, "stopped", "stopped");
    }
    const end = Date.parse(frame.timestamp);
    if (run.startedAt && end) run.elapsed.textContent = seconds(end - run.startedAt);
  }

  /** Forgets what was rendered for a thread, before replaying its history from the start. */
  function clearThread(threadId) {
    const view = threadViews.get(threadId);
    if (view) view.replaceChildren();
    for (const [runId, run] of runs) if (run.threadId === threadId) runs.delete(runId);
  }

  // ---------------------------------------------------------------- connection

  function socketURL() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/ws`;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    established = false;
    setStatus("connecting", reconnectAttempt ? "reconnecting…" : "connecting…");
    const token = localStorage.getItem(STORAGE.token);
    // Browsers cannot set headers on a WebSocket: the token rides in the subprotocol list.
    const protocols = token ? [PROTOCOL, `bearer.${token}`] : [PROTOCOL];
    let ws;
    try {
      ws = new WebSocket(socketURL(), protocols);
    } catch (error) {
      scheduleReconnect(false);
      return;
    }
    socket = ws;
    ws.onmessage = (message) => {
      if (ws !== socket) return;
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      handleFrame(frame);
    };
    ws.onclose = (event) => {
      if (ws !== socket) return;
      const hadSession = established;
      established = false;
      socket = null;
      if (event.code === 4401) {
        // The token expired during the connection: a fresh one comes with the next connection.
        localStorage.removeItem(STORAGE.token);
      }
      setStatus("offline", event.code === 1001 ? "gateway restarting…" : "offline");
      scheduleReconnect(hadSession, event.code);
    };
  }

  function scheduleReconnect(hadSession, code) {
    if (hadSession) reconnectAttempt = 0;
    reconnectAttempt += 1;
    const base = code === 1001 ? 250 : 500;
    const delay = Math.min(10000, base * 2 ** Math.min(reconnectAttempt - 1, 5)) * (0.75 + Math.random() * 0.25);
    if (!hadSession && localStorage.getItem(STORAGE.token)) {
      // Refused before it opened while the gateway is up: the token is no good (forged, expired or from
      // another deployment), so the next try goes without it and gets a new identity.
      fetch("/readyz", { cache: "no-store" })
        .then((response) => {
          if (response.ok) {
            localStorage.removeItem(STORAGE.token);
            showError("Your saved session was not accepted; starting a new one.");
          }
        })
        .catch(() => {})
        .finally(() => (reconnectTimer = setTimeout(connect, delay)));
      return;
    }
    reconnectTimer = setTimeout(connect, delay);
  }

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      showError("Not connected; reconnecting…");
      return false;
    }
    socket.send(JSON.stringify(message));
    return true;
  }

  function resumeThread(thread) {
    const request = { type: "resume", thread_id: thread.id, after_seq: thread.lastSeq || 0 };
    if (thread.epoch && request.after_seq > 0) request.epoch = thread.epoch;
    pendingResumes.set(thread.id, request);
    send(request);
  }

  function handleFrame(frame) {
    if (typeof frame.seq === "number") {
      handleEvent(frame);
      return;
    }
    switch (frame.type) {
      case "connection_established":
        established = true;
        reconnectAttempt = 0;
        if (frame.guest_token) localStorage.setItem(STORAGE.token, frame.guest_token);
        userLabel.textContent = frame.user_id;
        setStatus("online", "online");
        // Pick up every thread where this page left it.
        for (const thread of threads) resumeThread(thread);
        break;
      case "run_queued": {
        const pending = pendingMessages.get(frame.client_msg_id);
        pendingMessages.delete(frame.client_msg_id);
        const thread = ensureThread(frame.thread_id, pending ? pending.slice(0, 60) : undefined);
        if (pending) thread.prompts[frame.run_id] = pending;
        // Keep only recent prompts; they are the one thing history does not hold.
        const runIds = Object.keys(thread.prompts);
        if (runIds.length > 50) delete thread.prompts[runIds[0]];
        saveThreads();
        if (!currentThreadId || currentThreadId !== frame.thread_id) selectThread(frame.thread_id);
        const run = runCard(frame.thread_id, frame.run_id);
        setRunStatus(run, "queued");
        conversation.scrollTop = conversation.scrollHeight;
        break;
      }
      case "resumed": {
        const asked = pendingResumes.get(frame.thread_id);
        pendingResumes.delete(frame.thread_id);
        const thread = findThread(frame.thread_id);
        if (!thread) break;
        if (!frame.recovered && (!asked || asked.after_seq > 0 || asked.epoch)) {
          // Events were lost to the history limit or a new epoch: reload what history holds.
          clearThread(thread.id);
          thread.lastSeq = 0;
          thread.epoch = null;
          resumeThread(thread);
          break;
        }
        if (frame.epoch) thread.epoch = frame.epoch;
        saveThreads();
        break;
      }
      case "error":
        handleError(frame);
        break;
      case "pong":
        break;
      default:
        break;
    }
  }

  function handleEvent(frame) {
    const thread = ensureThread(frame.thread_id);
    if (thread.epoch && frame.epoch !== thread.epoch) {
      // The thread's log started a new epoch: seq counts from 1 again.
      thread.lastSeq = 0;
    } else if (frame.seq <= thread.lastSeq) {
      return;
    }
    thread.epoch = frame.epoch;
    thread.lastSeq = frame.seq;
    saveThreads();
    applyEvent(frame);
  }

  function handleError(frame) {
    const resumeTarget = [...pendingResumes.keys()].find((id) => id === frame.ref);
    if (resumeTarget && (frame.code === "forbidden" || frame.code === "not_found")) {
      // The thread expired or belongs to another identity: drop it from the list.
      pendingResumes.delete(resumeTarget);
      threads = threads.filter((thread) => thread.id !== resumeTarget);
      threadViews.get(resumeTarget)?.remove();
      threadViews.delete(resumeTarget);
      if (currentThreadId === resumeTarget) selectThread(null);
      saveThreads();
      renderThreadList();
      return;
    }
    if (frame.ref && pendingMessages.has(frame.ref)) pendingMessages.delete(frame.ref);
    const messages = {
      thread_busy: "A run is still active on this conversation; wait for it or press Stop.",
      too_large: "That message is too large.",
    };
    // rate_limited covers the message rate and the threads one connection may watch: the server's text says which.
    showError(messages[frame.code] || frame.message || frame.code);
  }

  // ---------------------------------------------------------------- composer

  function submit(event) {
    event?.preventDefault();
    const content = input.value.trim();
    if (!content || !established) return;
    const clientMessageId = `m-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const message = { type: "user_message", content, client_msg_id: clientMessageId };
    if (currentThreadId && findThread(currentThreadId)) message.thread_id = currentThreadId;
    if (!send(message)) return;
    pendingMessages.set(clientMessageId, content);
    input.value = "";
    autosize();
    updateComposer();
  }

  function autosize() {
    input.style.height = "auto";
    const limit = window.innerHeight * 0.4;
    input.style.height = `${Math.min(input.scrollHeight + 2, limit)}px`;
    input.style.overflowY = input.scrollHeight + 2 > limit ? "auto" : "hidden";
  }

  $("[data-testid=composer]").addEventListener("submit", submit);
  input.addEventListener("input", () => {
    autosize();
    updateComposer();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submit(event);
  });
  $("[data-testid=new-thread]").addEventListener("click", () => selectThread(null));
  conversation.addEventListener("click", closeSidebar);
  threadsToggle.addEventListener("click", () => {
    const open = sidebar.classList.toggle("open");
    threadsToggle.setAttribute("aria-expanded", String(open));
  });
  for (const button of document.querySelectorAll(".example")) {
    button.addEventListener("click", () => {
      input.value = button.dataset.example;
      autosize();
      updateComposer();
      input.focus();
    });
  }

  // ---------------------------------------------------------------- start

  threads = threads.filter((thread) => thread && typeof thread.id === "string");
  for (const thread of threads) {
    thread.prompts ||= {};
    // What was shown before the reload is gone: replay each thread from the start of its history.
    thread.lastSeq = 0;
    thread.epoch = null;
    thread.activeRun = null;
  }
  renderThreadList();
  selectThread(currentThreadId && findThread(currentThreadId) ? currentThreadId : null);
  autosize();
  connect();
})();
