// Type declarations of herald-client.js, the browser client of Herald's gateway (protocol herald.v1).
// Wire objects (frames, events, threads, messages) keep the protocol's snake_case names; options and
// method parameters are camelCase. DESIGN.md sections 3, 4, 9 and 10 are the contract; docs/client.md the guide.

/// The WebSocket subprotocol every connection asks for.
export declare const PROTOCOL: "herald.v1";

/// Close codes of the protocol.
export declare const CloseCode: Readonly<{
  /// Closed by the client (`close()`, `reconnect()`).
  NORMAL: 1000;
  /// The gateway is shutting down: the client reconnects and resumes.
  GOING_AWAY: 1001;
  /// The client sent a binary frame: reported through `close`, then the client reconnects.
  UNSUPPORTED_DATA: 1003;
  /// The connection dropped without a close frame (network, a killed gateway): reconnect and resume.
  ABNORMAL: 1006;
  /// The client sent a frame over the gateway's limit: reported through `close`, then reconnect.
  TOO_LARGE: 1009;
  /// The connection's outbound queue overflowed (a slow reader): reconnect and resume.
  SLOW_CONSUMER: 4008;
  /// The token expired during the connection: `getToken` is asked for a fresh one, then reconnect.
  TOKEN_EXPIRED: 4401;
  /// Too many connections for this user: reconnect after at least `reconnect.rateLimitedDelayMs`.
  TOO_MANY_CONNECTIONS: 4429;
}>;

/// Connection states, in the order a connection goes through them.
/// `closed` is also the state before `connect()` and after `close()` (no reconnect follows).
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/// Reconnection: exponential backoff with full jitter. Attempt `n` (from 0) waits a uniformly random
/// time in [0, min(maxDelayMs, initialDelayMs × factor^n)).
export interface ReconnectOptions {
  /// Ceiling of the first attempt's delay. Default 500.
  initialDelayMs?: number;
  /// Largest ceiling. Default 30000.
  maxDelayMs?: number;
  /// Growth of the ceiling per attempt. Default 2.
  factor?: number;
  /// Attempts before the client gives up and closes. Default Infinity.
  maxAttempts?: number;
  /// Least delay after close code 4429 (too many connections). Default 10000.
  rateLimitedDelayMs?: number;
}

/// Why the client asks for a token.
export interface TokenRequest {
  /// `initial`: no token was given; `expired`: close code 4401; `refused`: the gateway answered 401.
  reason: "initial" | "expired" | "refused";
}

export interface HeraldClientOptions {
  /// Origin of the gateway (`https://chat.example.com`). Default: the page's origin.
  baseUrl?: string | URL;
  /// A JWT (deployments with `HERALD_JWT_SECRET`). Presented as the subprotocol `bearer.<jwt>` on
  /// the socket and as `Authorization: Bearer <jwt>` on the API.
  token?: string | null;
  /// A guest token from an earlier connection (the `guest_token` event), to stay the same guest user.
  /// Ignored while a JWT is set.
  guestToken?: string | null;
  /// Gives a fresh JWT: at the start when no token was given, after close code 4401, and after a
  /// refusal (401). Return null to give up: the client closes and emits `unauthorized` with
  /// `willRetry: false`.
  getToken?: (request: TokenRequest) => string | null | undefined | Promise<string | null | undefined>;
  /// Backoff settings, or `false` to never reconnect.
  reconnect?: ReconnectOptions | false;
  /// Sends a `ping` this often and reconnects when its `pong` has not come by the next one.
  /// Default 0: off (the gateway pings at the WebSocket level, which browsers answer themselves).
  pingIntervalMs?: number;
  /// WebSocket constructor to use (tests, Node). Default: `globalThis.WebSocket`.
  WebSocket?: typeof WebSocket;
  /// fetch to use (tests, Node). Default: `globalThis.fetch`.
  fetch?: typeof fetch;
}

// ------------------------------------------------------------------ server frames

/// The first frame of every connection.
export interface ConnectionEstablished {
  type: "connection_established";
  connection_id: string;
  user_id: string;
  protocol: "herald.v1";
  /// ISO 8601.
  server_time: string;
  /// Guest mode only: the token to present next time to stay this user.
  guest_token?: string;
}

/// A `user_message` was accepted: its run is queued on `thread_id`.
export interface RunQueued {
  type: "run_queued";
  run_id: string;
  thread_id: string;
  client_msg_id?: string;
}

/// The answer to a `resume` (and, with `recovered: false`, a gap the gateway could not fill).
export interface Resumed {
  type: "resumed";
  thread_id: string;
  epoch: string;
  /// False: events were lost to the history limit or an epoch change (the client emits `reset`).
  recovered: boolean;
  replayed: number;
  last_seq: number;
}

/// Error codes of the protocol.
export type ErrorCode =
  | "bad_request"
  | "unknown_type"
  | "forbidden"
  | "not_found"
  | "thread_busy"
  | "conflict"
  | "rate_limited"
  | "too_large"
  | "internal";

/// An `error` frame. It never closes the connection by itself.
export interface ErrorFrame {
  type: "error";
  code: ErrorCode | (string & {});
  message: string;
  /// What it is about: a client_msg_id, run id, thread id or approval id (`thread_busy`: the active run).
  ref?: string;
}

export interface Pong {
  type: "pong";
}

// ------------------------------------------------------------------ events

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/// Payloads by event type (DESIGN.md section 4).
export interface EventPayloads {
  agent_started: {
    agent_name: string;
    parent_agent?: string;
    attempt: number;
    /// The supervisor's only: the user's message, so every tab and device sees what was asked.
    input?: { content: string; client_msg_id?: string };
  };
  agent_thinking: { thought: string; step_number?: number; total_steps?: number };
  tool_executing: { tool_call_id: string; tool_name: string; arguments: JsonObject };
  tool_completed: {
    tool_call_id: string;
    tool_name: string;
    status: "success" | "error" | "timeout" | "cancelled" | "denied";
    result?: JsonValue;
    error?: string;
    duration_ms: number;
  };
  approval_requested: {
    approval_id: string;
    tool_call_id: string;
    tool_name: string;
    arguments: JsonObject;
    /// ISO 8601.
    expires_at: string;
  };
  approval_resolved: {
    approval_id: string;
    tool_call_id: string;
    decision: "approved" | "denied" | "expired" | "cancelled";
    arguments: JsonObject;
    decided_by?: string;
    reason?: string;
  };
  partial_result: { content: string; is_complete: boolean };
  final_report: {
    report: string;
    total_duration_ms: number;
    /// Token usage, when the model reported it.
    usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number };
  };
  agent_completed: { agent_name: string; status: "success" | "cancelled"; duration_ms: number; result?: JsonValue };
  agent_error: {
    agent_name: string;
    code: "llm_unavailable" | "tool_failed" | "worker_lost" | "timeout" | "cancelled" | "internal" | (string & {});
    message: string;
    /// Sending the same message again may succeed.
    retryable: boolean;
  };
}

export type EventType = keyof EventPayloads;

/// One event frame of a thread's log. `seq` counts from 1 by one within an `epoch`.
export type HeraldEvent<T extends EventType = EventType> = T extends EventType
  ? {
      type: T;
      seq: number;
      epoch: string;
      thread_id: string;
      run_id: string;
      event_id: string;
      agent_name: string;
      /// When the worker emitted it: ISO 8601 UTC with milliseconds.
      timestamp: string;
      payload: EventPayloads[T];
    }
  : never;

// ------------------------------------------------------------------ client events

/// What `on()` can listen to, and what each handler receives.
export interface HeraldClientEvents {
  /// The connection state changed.
  state: { state: ConnectionState; previous: ConnectionState };
  /// A connection was established (first or after a reconnect); watched threads are being resumed.
  open: ConnectionEstablished;
  /// The socket closed. `willReconnect` false: the client gave up (`maxAttempts`) and is closed.
  /// 1003 and 1009 say this client sent something the gateway refuses; 4429, too many connections.
  close: { code: number; reason: string; wasOpen: boolean; willReconnect: boolean; delayMs: number };
  /// An event of a watched thread, in `seq` order, each once (across reconnects too).
  event: HeraldEvent;
  /// A `resume` was answered and its catch-up delivered.
  resumed: Resumed;
  /// Events of a thread were lost (history limit, epoch change): forget what was shown of it.
  /// The client then resumes it from `after_seq: 0`, delivering what history holds again.
  reset: { threadId: string; reason: "not_recovered" | "gap" | "epoch_changed" };
  /// A run was queued (by `sendMessage` or, on this connection, otherwise).
  run_queued: RunQueued;
  /// An error frame no pending request took (those reject their promise instead).
  error: ErrorFrame;
  /// The gateway issued a guest token: keep it (e.g. localStorage) and pass it as `guestToken` next time.
  guest_token: string;
  /// A token was refused or expired. `willRetry` false: no token to try, the client is closed.
  unauthorized: { reason: "expired" | "refused"; willRetry: boolean };
  pong: Pong;
}

// ------------------------------------------------------------------ threads and messages API

/// A conversation (DESIGN.md section 9).
export interface Thread {
  thread_id: string;
  title: string;
  /// ISO 8601.
  created_at: string;
  /// ISO 8601.
  updated_at: string;
  /// The run in progress, if any.
  active_run_id?: string;
  preview: string;
}

export interface ToolCallRecord {
  tool_call_id: string;
  tool_name: string;
  arguments: JsonObject;
  status: string;
  result?: JsonValue;
  error?: string;
}

/// One stored message: the user's, or the whole answer of a run (however many events streamed it).
export interface Message {
  message_id: string;
  run_id: string;
  role: "user" | "assistant";
  content: string;
  /// ISO 8601.
  created_at: string;
  status?: "complete" | "cancelled" | "error" | "streaming";
  tool_calls?: ToolCallRecord[];
}

export interface ThreadPage {
  threads: Thread[];
  /// Pass as `cursor` for the next page; absent on the last one.
  next_cursor?: string;
}

export interface MessagePage {
  /// Oldest first within the page; the first page is the newest.
  messages: Message[];
  /// Pass as `before` for the page of older messages; absent on the oldest.
  next_cursor?: string;
}

/// An API call failed: the HTTP status and the JSON error body's `error` and `message`.
export declare class HeraldApiError extends Error {
  readonly name: "HeraldApiError";
  /// HTTP status (400, 401, 403, 404, 409, 413, 429, 5xx).
  readonly status: number;
  /// The body's `error` (an ErrorCode), or `http_<status>` when the body had none.
  readonly code: ErrorCode | (string & {});
  /// The body's `message`, else the status text.
  readonly message: string;
  /// The parsed error body, or null.
  readonly body: unknown;
  constructor(status: number, code: string, message: string, body?: unknown);
}

/// A request over the socket failed: the server's error frame, or no answer could come.
/// Codes beyond ErrorCode: `not_connected` (nothing was sent), `disconnected` (the connection closed
/// before the answer: the message may or may not have been queued), `closed` (`close()` was called),
/// `timeout` (approvals), `unwatched` (`unwatch()` during `watch()`).
export declare class HeraldRequestError extends Error {
  readonly name: "HeraldRequestError";
  readonly code: ErrorCode | "not_connected" | "disconnected" | "closed" | "timeout" | "unwatched" | (string & {});
  readonly ref: string | null;
  /// The error frame, when the server sent one.
  readonly frame: ErrorFrame | null;
  constructor(code: string, message?: string, ref?: string | null, frame?: ErrorFrame | null);
}

/// The delay before reconnect attempt `attempt` (from 0): uniform in [0, min(maxDelayMs, initialDelayMs × factor^attempt)).
export declare function backoffDelay(
  attempt: number,
  options: { initialDelayMs: number; maxDelayMs: number; factor: number },
  random?: () => number,
): number;

export interface SendMessageOptions {
  /// The thread to continue; without it the message starts a new thread.
  threadId?: string;
  /// Echoed in `run_queued` and stored with the message. Default: a random id.
  clientMsgId?: string;
}

export interface WatchOptions {
  /// Deliver events after this seq. Default: the last seq this client delivered for the thread (0 if none).
  afterSeq?: number;
  /// The epoch `afterSeq` belongs to (sent only when `afterSeq` > 0).
  epoch?: string | null;
}

export interface ApprovalOptions {
  /// The arguments as approved, if edited (approve only).
  arguments?: JsonObject;
  /// Why (shown to other watchers in `approval_resolved`).
  reason?: string;
  /// How long to wait for `approval_resolved` or an error. Default 30000.
  timeoutMs?: number;
}

export declare class HeraldClient {
  constructor(options?: HeraldClientOptions);

  /// The connection state.
  readonly state: ConnectionState;
  /// The current connection's `connection_established`, or null while not open.
  readonly connection: ConnectionEstablished | null;
  readonly userId: string | null;
  readonly connectionId: string | null;
  /// Whether the gateway issued a guest token on this connection (guest mode).
  readonly isGuest: boolean;
  /// The token presented on the socket and the API: the JWT if set, else the guest token, else null.
  readonly token: string | null;
  /// The threads being watched (resumed after every reconnect).
  readonly watchedThreads: string[];

  /// Replaces the JWT; used from the next connection and API call on.
  setToken(token: string | null): void;

  /// Opens the connection, or waits for the one being opened; resolves on `connection_established`.
  /// Rejects (code `closed`) only if `close()` is called, or the client gives up, first.
  connect(): Promise<ConnectionEstablished>;
  /// Closes the connection for good: no reconnect until `connect()`. Pending requests reject with `closed`.
  close(code?: number, reason?: string): void;
  /// Drops the socket and connects again at once, resuming every watched thread.
  reconnect(): Promise<ConnectionEstablished>;

  /// Listens to a client event; returns the function that stops listening.
  on<K extends keyof HeraldClientEvents>(type: K, handler: (value: HeraldClientEvents[K]) => void): () => void;
  off<K extends keyof HeraldClientEvents>(type: K, handler: (value: HeraldClientEvents[K]) => void): void;
  /// Listens to the next one only.
  once<K extends keyof HeraldClientEvents>(type: K, handler: (value: HeraldClientEvents[K]) => void): () => void;
  /// Events of one thread (in order, each once). Does not watch it: `watch` does. Returns the unsubscribe function.
  onThread(threadId: string, handler: (event: HeraldEvent) => void): () => void;

  /// Watches a thread: every event after `afterSeq` that history holds, then live ones, with no gap
  /// and no duplicate; resumed again after every reconnect. Resolves with the `resumed` frame once the
  /// catch-up was delivered (a call made before the connection opens is sent when it does). Rejects with
  /// the server's error (`not_found`, `forbidden`, `rate_limited` when the connection watches too many).
  watch(threadId: string, options?: WatchOptions): Promise<Resumed>;
  /// Stops delivering a thread's events and resuming it. (The protocol has no unsubscribe frame: the
  /// gateway keeps sending until the connection ends; the client drops them.)
  unwatch(threadId: string): void;
  /// The last seq delivered for a thread and its epoch, or null when not watched.
  position(threadId: string): { lastSeq: number; epoch: string | null } | null;

  /// Sends a message: a new thread without `threadId`. Resolves with `run_queued`; rejects with a
  /// HeraldRequestError: the server's code (`thread_busy`, `too_large`, `forbidden`, `rate_limited`…),
  /// or `not_connected`, `disconnected`.
  sendMessage(content: string, options?: SendMessageOptions): Promise<RunQueued>;
  /// Asks to cancel a run; returns whether the frame was sent. Refusals arrive as `error` events.
  cancelRun(runId: string): boolean;
  /// Answers an approval request. Resolves with the `approval_resolved` event (whoever decided first);
  /// rejects with the server's error (`conflict`: decided already; `forbidden`; `unknown_type`: the
  /// gateway has no approvals), or `timeout`, `not_connected`, `disconnected`.
  respondToApproval(
    approvalId: string,
    decision: "approve" | "deny",
    options?: ApprovalOptions,
  ): Promise<HeraldEvent<"approval_resolved">>;
  /// Sends a `ping`; its `pong` is emitted as `pong`. Returns whether it was sent.
  ping(): boolean;

  /// `GET /api/threads`: the user's threads, most recently updated first. A guest's call made before
  /// the first connection waits for its guest token.
  listThreads(options?: { limit?: number; cursor?: string }): Promise<ThreadPage>;
  /// `GET /api/threads/{id}`. Someone else's thread is 404, like a missing one.
  getThread(threadId: string): Promise<Thread>;
  /// `PATCH /api/threads/{id}`: a new title.
  renameThread(threadId: string, title: string): Promise<Thread>;
  /// `DELETE /api/threads/{id}`: cancels an active run and removes the thread; unwatches it here.
  deleteThread(threadId: string): Promise<void>;
  /// `GET /api/threads/{id}/messages`: the newest page first; pass `next_cursor` as `before` for older ones.
  listMessages(threadId: string, options?: { before?: string; limit?: number }): Promise<MessagePage>;
}
