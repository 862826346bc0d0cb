// herald-client.js — a browser client for Herald's gateway (protocol herald.v1).
//
// One WebSocket to `/ws` with authentication, reconnection with exponential backoff and full
// jitter, resumption of every watched thread by `seq`/`epoch` (no gap, no duplicate), runs,
// approvals, and the threads and messages API over fetch. An ES module with no dependencies:
//
//   import { HeraldClient } from "/herald-client.js";
//
// Types and doc comments: herald-client.d.ts beside this file. Guide: docs/client.md.

export const PROTOCOL = "herald.v1";

/** Close codes of the protocol (DESIGN.md section 3). */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  ABNORMAL: 1006,
  TOO_LARGE: 1009,
  SLOW_CONSUMER: 4008,
  TOKEN_EXPIRED: 4401,
  TOO_MANY_CONNECTIONS: 4429,
});

const DEFAULT_RECONNECT = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  factor: 2,
  maxAttempts: Infinity,
  rateLimitedDelayMs: 10_000,
});

/** An HTTP API call that failed: the JSON error body's `error` and `message`, and the status. */
export class HeraldApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message || code || `HTTP ${status}`);
    this.name = "HeraldApiError";
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** A request over the socket that failed: the server's `error` frame, or the connection closed first. */
export class HeraldRequestError extends Error {
  constructor(code, message, ref = null, frame = null) {
    super(message || code);
    this.name = "HeraldRequestError";
    this.code = code;
    this.ref = ref;
    this.frame = frame;
  }
}

/** Delay before reconnect attempt `attempt` (0-based): "full jitter", uniform in [0, capped exponential). */
export function backoffDelay(attempt, { initialDelayMs, maxDelayMs, factor }, random = Math.random) {
  const ceiling = Math.min(maxDelayMs, initialDelayMs * factor ** attempt);
  return Math.floor(random() * ceiling);
}

function newClientMessageId() {
  if (globalThis.crypto?.randomUUID) return `m-${globalThis.crypto.randomUUID()}`;
  return `m-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

function isEventFrame(frame) {
  return typeof frame.seq === "number" && typeof frame.thread_id === "string";
}

export class HeraldClient {
  #options;
  #baseUrl;
  #reconnect;
  #WebSocket;
  #fetch;
  #jwt;
  #guestToken;
  #socket = null;
  #state = "closed";
  #info = null;
  #attempt = 0;
  #reconnectTimer = null;
  #pingTimer = null;
  #awaitingPong = false;
  #stopped = true;
  #tokenlessRefusals = 0;
  #listeners = new Map();
  /** Per watched thread: {lastSeq, epoch, resume: {afterSeq, epoch, buffer, outstanding}|null, waiters, retries}. */
  #threads = new Map();
  /** onThread handlers, by thread id. */
  #threadHandlers = new Map();
  /** Threads the app stopped watching: their late events are dropped. */
  #unwatched = new Set();
  /** user_message frames waiting for run_queued or error, by client_msg_id, in the order sent. */
  #pendingMessages = new Map();
  /** approval_response frames waiting for approval_resolved or error, by approval_id, in the order sent. */
  #pendingApprovals = new Map();
  /** Callers of connect() and API calls waiting for the connection to be established. */
  #openWaiters = [];

  /** @param {import("./herald-client").HeraldClientOptions} [options] */
  constructor(options = {}) {
    this.#options = options;
    this.#baseUrl = new URL(options.baseUrl ?? globalThis.location?.origin ?? "http://127.0.0.1:8080");
    this.#reconnect = options.reconnect === false ? null : { ...DEFAULT_RECONNECT, ...options.reconnect };
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#jwt = options.token ?? null;
    this.#guestToken = options.guestToken ?? null;
  }

  /** Back online: waiting out the backoff would only delay the reconnect the user is waiting for. */
  #onOnline = () => {
    if (this.#state === "reconnecting" && !this.#socket) this.#open();
  };

  // ------------------------------------------------------------------ state

  get state() { return this.#state; }
  get connection() { return this.#info; }
  get userId() { return this.#info?.user_id ?? null; }
  get connectionId() { return this.#info?.connection_id ?? null; }
  /** Whether the server runs in guest mode (it issued a guest token on this connection). */
  get isGuest() { return Boolean(this.#info?.guest_token); }
  /** The token presented on the socket and the API: the JWT if there is one, else the guest token. */
  get token() { return this.#jwt ?? this.#guestToken; }

  /** Replaces the JWT (e.g. after a refresh); used from the next connection and API call on. */
  setToken(token) { this.#jwt = token ?? null; }

  // ------------------------------------------------------------------ subscriptions

  on(type, handler) {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(handler);
    return () => this.off(type, handler);
  }

  off(type, handler) {
    this.#listeners.get(type)?.delete(handler);
  }

  once(type, handler) {
    const off = this.on(type, (value) => {
      off();
      handler(value);
    });
    return off;
  }

  /** Events of one thread only (watching it is `watch`'s job). Returns the unsubscribe function. */
  onThread(threadId, handler) {
    let handlers = this.#threadHandlers.get(threadId);
    if (!handlers) this.#threadHandlers.set(threadId, (handlers = new Set()));
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
      if (!handlers.size && this.#threadHandlers.get(threadId) === handlers) this.#threadHandlers.delete(threadId);
    };
  }

  #emit(type, value) {
    for (const handler of [...(this.#listeners.get(type) ?? [])]) {
      try {
        handler(value);
      } catch (error) {
        // One broken listener must not stop the others nor the client: report it where it can be seen.
        queueMicrotask(() => { throw error; });
      }
    }
  }

  #setState(state) {
    if (state === this.#state) return;
    const previous = this.#state;
    this.#state = state;
    this.#emit("state", { state, previous });
  }

  // ------------------------------------------------------------------ connection

  /** Opens the connection (or waits for the one being opened). Resolves on `connection_established`. */
  connect() {
    if (this.#state === "open") return Promise.resolve(this.#info);
    const waiting = this.#whenOpen();
    if (this.#stopped) {
      this.#stopped = false;
      this.#attempt = 0;
      globalThis.addEventListener?.("online", this.#onOnline);
      this.#setState("connecting");
      this.#firstOpen();
    }
    return waiting;
  }

  /** With `getToken` and no token yet, the first token comes from it. */
  async #firstOpen() {
    const getToken = this.#options.getToken;
    if (!this.token && getToken) {
      try {
        this.#jwt = (await getToken({ reason: "initial" })) ?? null;
      } catch {
        this.#jwt = null;
      }
      if (this.#stopped) return;
    }
    this.#open();
  }

  /** Closes the connection for good (until `connect()` is called again). */
  close(code = CloseCode.NORMAL, reason = "client closed") {
    this.#stopped = true;
    globalThis.removeEventListener?.("online", this.#onOnline);
    clearTimeout(this.#reconnectTimer);
    const socket = this.#socket;
    this.#dropSocket();
    socket?.close(code, reason);
    this.#failPending("closed", "the client was closed");
    for (const waiter of this.#openWaiters.splice(0)) waiter.reject(new HeraldRequestError("closed", "the client was closed"));
    this.#setState("closed");
  }

  /** Drops the current socket and connects again at once, resuming every watched thread. */
  reconnect() {
    if (this.#stopped) return this.connect();
    clearTimeout(this.#reconnectTimer);
    const socket = this.#socket;
    this.#dropSocket();
    socket?.close(CloseCode.NORMAL, "reconnecting");
    this.#failPending("disconnected", "the connection was replaced");
    this.#setState("reconnecting");
    this.#open();
    return this.#whenOpen();
  }

  #whenOpen() {
    if (this.#state === "open") return Promise.resolve(this.#info);
    return new Promise((resolve, reject) => this.#openWaiters.push({ resolve, reject }));
  }

  #socketUrl() {
    const url = new URL("/ws", this.#baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  }

  #open() {
    clearTimeout(this.#reconnectTimer);
    if (this.#state !== "reconnecting") this.#setState("connecting");
    const token = this.token;
    // Browsers cannot set headers on a WebSocket: the token rides in the subprotocol list.
    const protocols = token ? [PROTOCOL, `bearer.${token}`] : [PROTOCOL];
    let socket;
    try {
      socket = new this.#WebSocket(this.#socketUrl(), protocols);
    } catch (error) {
      this.#scheduleReconnect({ code: CloseCode.ABNORMAL, reason: String(error), wasOpen: false });
      return;
    }
    this.#socket = socket;
    let upgraded = false;
    socket.onopen = () => { upgraded = true; };
    socket.onmessage = (message) => {
      if (socket !== this.#socket) return;
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return; // The server sends JSON text only; anything else is ignored rather than trusted.
      }
      this.#handleFrame(frame);
    };
    socket.onclose = (event) => {
      if (socket !== this.#socket) return;
      const wasOpen = this.#state === "open";
      this.#dropSocket();
      if (!this.#stopped) this.#setState("reconnecting");
      this.#onClose({ code: event.code, reason: event.reason, wasOpen, upgraded, presentedToken: token });
    };
  }

  /** Forgets the socket: its late frames and close are ignored; resumes in flight are asked again later. */
  #dropSocket() {
    const socket = this.#socket;
    this.#socket = null;
    this.#info = null;
    clearInterval(this.#pingTimer);
    this.#awaitingPong = false;
    if (socket) socket.onopen = socket.onmessage = socket.onclose = null;
    for (const thread of this.#threads.values()) thread.resume = null;
  }

  async #onClose({ code, reason, wasOpen, upgraded, presentedToken }) {
    const codeName = {
      [CloseCode.TOO_LARGE]: "too_large",
      [CloseCode.UNSUPPORTED_DATA]: "bad_request",
    }[code] ?? "disconnected";
    this.#failPending(codeName, `the connection closed (${code}${reason ? `: ${reason}` : ""}) before the server answered`);
    if (this.#stopped) return;

    if (code === CloseCode.TOKEN_EXPIRED) {
      if (!(await this.#renewCredentials("expired", presentedToken))) return;
    } else if (!upgraded) {
      // Failed before the upgrade: browsers do not show the HTTP status, so the API says whether it was a 401.
      const refused = await this.#refused(presentedToken);
      // Without a token the API refuses in guest mode too: only a second refusal in a row, with the
      // gateway up both times, says this deployment wants a JWT (not a gateway that was restarting).
      this.#tokenlessRefusals = refused && !presentedToken ? this.#tokenlessRefusals + 1 : 0;
      const certain = Boolean(presentedToken) || this.#tokenlessRefusals >= 2;
      if (refused && certain && !(await this.#renewCredentials("refused", presentedToken))) return;
    }
    if (this.#stopped) return;
    this.#scheduleReconnect({ code, reason, wasOpen });
  }

  /** Whether the gateway refuses this token, or the lack of one (an API call answers 401). */
  async #refused(token) {
    try {
      const response = await this.#fetch(new URL("/api/threads?limit=1", this.#baseUrl), {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        cache: "no-store",
      });
      return response.status === 401;
    } catch {
      return false; // The gateway is unreachable: an ordinary reconnect.
    }
  }

  /**
   * After a refusal or an expiry: a fresh JWT from `getToken`; else, for a guest, a new guest identity
   * (refused) or the renewed guest token (expired); else the client closes. Returns whether to go on.
   */
  async #renewCredentials(reason, presentedToken) {
    const getToken = this.#options.getToken;
    if (getToken) {
      let fresh = null;
      try {
        fresh = await getToken({ reason });
      } catch {
        fresh = null;
      }
      if (fresh) {
        this.#jwt = fresh;
        this.#emit("unauthorized", { reason, willRetry: true });
        return true;
      }
    }
    if (this.#jwt === null) {
      // Each guest connection renews the guest token: after an expiry the renewed one is presented.
      if (reason === "expired" && this.#guestToken && this.#guestToken !== presentedToken) return true;
      if (this.#guestToken && this.#guestToken === presentedToken) {
        // A guest token this deployment no longer takes (expired, or another deployment's): a new guest.
        this.#guestToken = null;
        this.#emit("unauthorized", { reason, willRetry: true });
        return true;
      }
    }
    // A JWT deployment, and no (valid) JWT to present.
    this.#emit("unauthorized", { reason, willRetry: false });
    this.close(CloseCode.NORMAL, "unauthorized");
    return false;
  }

  #scheduleReconnect({ code, reason, wasOpen }) {
    const policy = this.#reconnect;
    const willReconnect = Boolean(policy) && this.#attempt < policy.maxAttempts;
    let delayMs = 0;
    if (willReconnect) {
      delayMs = backoffDelay(this.#attempt, policy);
      // Too many connections for this user: waiting longer is what helps; the app is told through `close`.
      if (code === CloseCode.TOO_MANY_CONNECTIONS) delayMs = Math.max(delayMs, policy.rateLimitedDelayMs);
      this.#attempt += 1;
    }
    this.#emit("close", { code, reason, wasOpen, willReconnect, delayMs });
    if (!willReconnect) {
      this.close(code, reason);
      return;
    }
    this.#setState("reconnecting");
    this.#reconnectTimer = setTimeout(() => this.#open(), delayMs);
  }

  #send(message) {
    if (!this.#socket || this.#state !== "open") return false;
    this.#socket.send(JSON.stringify(message));
    return true;
  }

  #startPings() {
    const interval = this.#options.pingIntervalMs ?? 0;
    if (!interval) return;
    this.#pingTimer = setInterval(() => {
      // No pong for a whole interval: the connection is dead without having closed.
      if (this.#awaitingPong) this.#abandonSocket("no pong");
      else this.#awaitingPong = this.#send({ type: "ping" });
    }, interval);
  }

  /** Gives up on a socket that went quiet without closing, as if it had dropped. */
  #abandonSocket(reason) {
    const socket = this.#socket;
    if (!socket) return;
    this.#dropSocket();
    socket.close(CloseCode.NORMAL, reason);
    if (!this.#stopped) this.#setState("reconnecting");
    this.#onClose({ code: CloseCode.ABNORMAL, reason, wasOpen: true, upgraded: true, presentedToken: null });
  }

  /** Sends a `ping`; the `pong` is emitted as the `pong` event. Returns whether it was sent. */
  ping() {
    return this.#send({ type: "ping" });
  }

  // ------------------------------------------------------------------ frames

  #handleFrame(frame) {
    if (isEventFrame(frame)) {
      this.#receiveEvent(frame);
      return;
    }
    switch (frame.type) {
      case "connection_established":
        this.#established(frame);
        break;
      case "run_queued":
        this.#runQueued(frame);
        break;
      case "resumed":
        this.#resumed(frame);
        break;
      case "error":
        this.#error(frame);
        break;
      case "pong":
        this.#awaitingPong = false;
        this.#emit("pong", frame);
        break;
      default:
        break; // Unknown frames are ignored: newer servers may add some.
    }
  }

  #established(frame) {
    this.#info = frame;
    this.#attempt = 0;
    this.#tokenlessRefusals = 0;
    if (frame.guest_token && frame.guest_token !== this.#guestToken && this.#jwt === null) {
      this.#guestToken = frame.guest_token;
      this.#emit("guest_token", frame.guest_token);
    }
    this.#setState("open");
    this.#startPings();
    // Pick every watched thread up where it was left, before the app hears of the connection.
    for (const [threadId, thread] of this.#threads) {
      this.#sendResume(threadId, thread, thread.lastSeq, thread.epoch);
    }
    this.#emit("open", frame);
    for (const waiter of this.#openWaiters.splice(0)) waiter.resolve(frame);
  }

  #runQueued(frame) {
    const pending = this.#pendingMessages.get(frame.client_msg_id);
    // The gateway already watches the thread for this connection; watching it here resumes it after a reconnect.
    this.#thread(frame.thread_id);
    if (pending) {
      this.#pendingMessages.delete(frame.client_msg_id);
      pending.resolve(frame);
    }
    this.#emit("run_queued", frame);
  }

  #error(frame) {
    if (this.#settleByError(frame)) return;
    this.#emit("error", frame);
  }

  /** Rejects the request an error frame answers; returns whether it answered one. */
  #settleByError(frame) {
    const { code, ref } = frame;
    const error = new HeraldRequestError(code, frame.message, ref ?? null, frame);
    if (ref && this.#pendingMessages.has(ref)) {
      this.#pendingMessages.get(ref).reject(error);
      this.#pendingMessages.delete(ref);
      return true;
    }
    if (code === "thread_busy" && this.#pendingMessages.size) {
      // thread_busy's ref is the active run, not our message: messages are answered in the order sent.
      const [id, pending] = this.#pendingMessages.entries().next().value;
      this.#pendingMessages.delete(id);
      pending.reject(error);
      return true;
    }
    if (ref && this.#pendingApprovals.has(ref)) {
      this.#settleApproval(ref, null, error);
      return true;
    }
    if (!ref && code === "unknown_type" && this.#pendingApprovals.size) {
      // Every other frame this client sends is known to any herald.v1 server: a server without approvals.
      this.#settleApproval(this.#pendingApprovals.keys().next().value, null, error);
      return true;
    }
    if (ref && this.#threads.has(ref)) return this.#resumeRefused(ref, error);
    return false;
  }

  #resumeRefused(threadId, error) {
    const thread = this.#threads.get(threadId);
    if (!thread.resume) return false; // Not an answer to a resume (e.g. a cancel_run's ref).
    const transient = error.code === "internal" || error.code === "rate_limited";
    if (transient && thread.retries < 3) {
      // "try again": the gateway could not read history or subscribe just now, or too many frames came at once.
      thread.resume = null;
      thread.retries += 1;
      setTimeout(() => {
        if (this.#threads.get(threadId) === thread && !thread.resume) this.#sendResume(threadId, thread, thread.lastSeq, thread.epoch);
      }, 1000 * 2 ** thread.retries);
      return true;
    }
    // Not the user's, gone, or over the connection's limit: stop watching it.
    this.#threads.delete(threadId);
    this.#unwatched.add(threadId);
    const waiters = thread.waiters.splice(0);
    for (const waiter of waiters) waiter.reject(error);
    return waiters.length > 0;
  }

  // ------------------------------------------------------------------ threads: watch and resume

  #thread(threadId) {
    let thread = this.#threads.get(threadId);
    if (!thread) {
      thread = { lastSeq: 0, epoch: null, resume: null, waiters: [], retries: 0 };
      this.#threads.set(threadId, thread);
      this.#unwatched.delete(threadId);
    }
    return thread;
  }

  /**
   * Watches a thread: the server sends every event after `afterSeq` that its history holds, then live
   * ones. `afterSeq` defaults to the last seq this client delivered for the thread (0 if none).
   * Resolves with the `resumed` frame once the catch-up was delivered.
   */
  watch(threadId, { afterSeq, epoch } = {}) {
    const thread = this.#thread(threadId);
    if (afterSeq !== undefined) {
      thread.lastSeq = afterSeq;
      thread.epoch = epoch ?? null;
    }
    const resumed = new Promise((resolve, reject) => thread.waiters.push({ resolve, reject }));
    // Not open yet: the resume goes out with the others once the connection is established.
    if (this.#state === "open") this.#sendResume(threadId, thread, thread.lastSeq, thread.epoch);
    return resumed;
  }

  /** Stops watching a thread here: no more of its events are delivered, and it is not resumed on reconnect. */
  unwatch(threadId) {
    const thread = this.#threads.get(threadId);
    if (!thread) return;
    this.#threads.delete(threadId);
    this.#unwatched.add(threadId);
    for (const waiter of thread.waiters.splice(0)) waiter.reject(new HeraldRequestError("unwatched", "the thread was unwatched"));
  }

  /** The ids of the threads being watched. */
  get watchedThreads() {
    return [...this.#threads.keys()];
  }

  /** Where the client is in a thread's log: the last seq it delivered and that seq's epoch. */
  position(threadId) {
    const thread = this.#threads.get(threadId);
    return thread ? { lastSeq: thread.lastSeq, epoch: thread.epoch } : null;
  }

  #sendResume(threadId, thread, afterSeq, epoch) {
    const sentEpoch = afterSeq > 0 ? epoch : null;
    const message = { type: "resume", thread_id: threadId, after_seq: afterSeq };
    if (sentEpoch) message.epoch = sentEpoch;
    if (!this.#send(message)) return;
    // Each resume is answered by one `resumed`; events are held until the last one answers.
    const buffer = thread.resume?.buffer ?? [];
    const outstanding = (thread.resume?.outstanding ?? 0) + 1;
    thread.resume = { afterSeq, epoch: sentEpoch, buffer, outstanding };
  }

  #receiveEvent(frame) {
    if (this.#unwatched.has(frame.thread_id)) return;
    const thread = this.#thread(frame.thread_id);
    if (thread.resume) {
      // A catch-up is on its way: it and the live events around it are put in order when `resumed` comes.
      thread.resume.buffer.push(frame);
      return;
    }
    if (thread.epoch && frame.epoch !== thread.epoch) {
      // The thread's log began a new epoch: what was shown may be gone, so reload it.
      this.#reset(frame.thread_id, thread, "epoch_changed");
      thread.resume?.buffer.push(frame);
      return;
    }
    this.#deliver(frame.thread_id, thread, frame);
  }

  #deliver(threadId, thread, frame) {
    if (frame.seq <= thread.lastSeq && frame.epoch === thread.epoch) return; // a duplicate
    thread.lastSeq = frame.seq;
    thread.epoch = frame.epoch;
    for (const handler of [...(this.#threadHandlers.get(threadId) ?? [])]) {
      try {
        handler(frame);
      } catch (error) {
        queueMicrotask(() => { throw error; });
      }
    }
    this.#emit("event", frame);
    if (frame.type === "approval_resolved") this.#settleApproval(frame.payload?.approval_id, frame, null);
  }

  #resumed(frame) {
    const thread = this.#threads.get(frame.thread_id);
    if (!thread) return;
    const asked = thread.resume;
    if (asked && asked.outstanding > 1) {
      asked.outstanding -= 1;
      return;
    }
    thread.resume = null;
    thread.retries = 0;
    const lost = !frame.recovered && (!asked || asked.afterSeq > 0 || asked.epoch);
    if (lost) {
      // Events between what was shown and what history holds are gone: the app starts the thread over.
      this.#reset(frame.thread_id, thread, asked ? "not_recovered" : "gap");
      return;
    }
    const caughtUp = (asked?.buffer ?? [])
      .filter((event) => !frame.epoch || event.epoch === frame.epoch)
      .sort((a, b) => a.seq - b.seq);
    for (const event of caughtUp) this.#deliver(frame.thread_id, thread, event);
    if (frame.epoch && !thread.epoch) thread.epoch = frame.epoch;
    for (const waiter of thread.waiters.splice(0)) waiter.resolve(frame);
    this.#emit("resumed", frame);
  }

  /** Tells the app to clear the thread, then reloads it from the start of what history holds. */
  #reset(threadId, thread, reason) {
    thread.lastSeq = 0;
    thread.epoch = null;
    this.#emit("reset", { threadId, reason });
    this.#sendResume(threadId, thread, 0, null);
  }

  // ------------------------------------------------------------------ runs and approvals

  /**
   * Sends a user message: a new thread without `threadId`. Resolves with `run_queued`; rejects with a
   * HeraldRequestError carrying the server's error code (or `not_connected`, `disconnected`).
   */
  sendMessage(content, { threadId, clientMsgId } = {}) {
    const id = clientMsgId ?? newClientMessageId();
    const message = { type: "user_message", content, client_msg_id: id };
    if (threadId) message.thread_id = threadId;
    if (threadId) this.#thread(threadId);
    return new Promise((resolve, reject) => {
      this.#pendingMessages.set(id, { resolve, reject, threadId: threadId ?? null });
      if (!this.#send(message)) {
        this.#pendingMessages.delete(id);
        reject(new HeraldRequestError("not_connected", "not connected to the gateway", id));
      }
    });
  }

  /** Asks the server to cancel a run. Errors (not_found, forbidden) arrive as `error` events. */
  cancelRun(runId) {
    return this.#send({ type: "cancel_run", run_id: runId });
  }

  /**
   * Answers an approval request. Resolves with the `approval_resolved` event (whoever decided first);
   * rejects with the server's error (`conflict` when another tab answered first), or `timeout`.
   */
  respondToApproval(approvalId, decision, { arguments: args, reason, timeoutMs = 30_000 } = {}) {
    if (decision !== "approve" && decision !== "deny") {
      return Promise.reject(new TypeError(`decision must be "approve" or "deny", not ${JSON.stringify(decision)}`));
    }
    const message = { type: "approval_response", approval_id: approvalId, decision };
    if (args !== undefined) message.arguments = args;
    if (reason !== undefined) message.reason = reason;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => this.#settleApproval(approvalId, null, new HeraldRequestError("timeout", "no answer to the approval response", approvalId)),
        timeoutMs,
      );
      this.#pendingApprovals.set(approvalId, { resolve, reject, timer });
      if (!this.#send(message)) {
        this.#settleApproval(approvalId, null, new HeraldRequestError("not_connected", "not connected to the gateway", approvalId));
      }
    });
  }

  #settleApproval(approvalId, event, error) {
    const pending = this.#pendingApprovals.get(approvalId);
    if (!pending) return;
    this.#pendingApprovals.delete(approvalId);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(event);
  }

  #failPending(code, message) {
    for (const [id, pending] of this.#pendingMessages) pending.reject(new HeraldRequestError(code, message, id));
    this.#pendingMessages.clear();
    for (const id of [...this.#pendingApprovals.keys()]) {
      this.#settleApproval(id, null, new HeraldRequestError(code, message, id));
    }
  }

  // ------------------------------------------------------------------ threads and messages API

  /** `GET /api/threads`: the user's threads, most recently updated first. */
  listThreads({ limit, cursor } = {}) {
    return this.#api("GET", "/api/threads", { query: { limit, cursor } });
  }

  /** `GET /api/threads/{id}`. */
  getThread(threadId) {
    return this.#api("GET", `/api/threads/${encodeURIComponent(threadId)}`);
  }

  /** `PATCH /api/threads/{id}` with a new title. */
  renameThread(threadId, title) {
    return this.#api("PATCH", `/api/threads/${encodeURIComponent(threadId)}`, { body: { title } });
  }

  /** `DELETE /api/threads/{id}`: cancels an active run and removes the thread; stops watching it here. */
  async deleteThread(threadId) {
    await this.#api("DELETE", `/api/threads/${encodeURIComponent(threadId)}`);
    this.unwatch(threadId);
  }

  /** `GET /api/threads/{id}/messages`: the newest page first, oldest first within it; `next_cursor` goes in `before`. */
  listMessages(threadId, { before, limit } = {}) {
    return this.#api("GET", `/api/threads/${encodeURIComponent(threadId)}/messages`, { query: { before, limit } });
  }

  async #api(method, path, { query, body } = {}, retried = false) {
    if (!this.token && !this.#stopped) {
      // A guest gets its token with the first connection: API calls made before it wait for it.
      await this.#whenOpen();
    }
    const url = new URL(path, this.#baseUrl);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    const headers = { Accept: "application/json" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await this.#fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
    if (response.status === 401 && !retried && this.#options.getToken) {
      const fresh = await this.#options.getToken({ reason: "refused" });
      if (fresh) {
        this.#jwt = fresh;
        return this.#api(method, path, { query, body }, true);
      }
    }
    if (!response.ok) throw await HeraldClient.#apiError(response);
    if (response.status === 204) return undefined;
    const text = await response.text();
    return text ? JSON.parse(text) : undefined;
  }

  static async #apiError(response) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    const code = typeof body?.error === "string" ? body.error : `http_${response.status}`;
    const message = typeof body?.message === "string" ? body.message : response.statusText;
    return new HeraldApiError(response.status, code, message, body);
  }
}
