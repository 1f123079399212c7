// Everything that talks to the server, in one module (one request on a slow 3G link):
// the session kept on this device, the HTTP API, and the live connection to a meeting.

// ===== session ==================================================================================
// Who is using this browser: the access token and what it says, kept on this device so a reload or a
// dropped connection does not ask an elderly member to sign in again. A token from an invite link is
// renewed by exchanging the same invite again; a token from a password sign-in sends the user to sign in.
const KEY = 'chibo.session';
const RENEW_MARGIN_S = 60;

function decodeClaims(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/** Build a session from an access token (and the invite it came from, if any). */
export function sessionFromToken(token, invite = null) {
  const claims = decodeClaims(token);
  if (!claims) return null;
  return {
    token,
    invite,
    // The expiry on this device's clock: the token's lifetime counted from now. Old phones often have the wrong
    // date or time, and comparing the server's `exp` with such a clock would call a fresh token expired.
    exp: claims.exp && claims.iat ? Date.now() / 1000 + (claims.exp - claims.iat) : (claims.exp ?? 0),
    memberId: claims.mid ?? null,
    branchId: claims.bid ?? null,
    meetingId: claims.mtg ?? null,
    recordOnly: claims.typ === 'record', // an invite link after its meeting: that meeting's sealed record only
    role: claims.role ?? 'member',
    isAdmin: Boolean(claims.adm),
    name: claims.name ?? '',
  };
}

export function loadSession() {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) || 'null');
    return saved && saved.token ? saved : null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  try {
    localStorage.setItem(KEY, JSON.stringify(session));
  } catch {
    /* storage full or private mode: the session lasts for this page */
  }
  memory = session;
}

export function clearSession() {
  memory = null;
  try {
    localStorage.removeItem(KEY);
  } catch {
    /* ignore */
  }
}

let memory = null;

/** The session in use (memory first: another tab may have signed in as someone else since). */
export function current() {
  if (!memory) memory = loadSession();
  return memory;
}

export function isFresh(session, nowSeconds = Date.now() / 1000) {
  return Boolean(session && session.exp - RENEW_MARGIN_S > nowSeconds);
}

/** Where to send someone who must sign in, so they come back here afterwards. */
export function loginUrl() {
  const back = location.pathname + location.search;
  return `/?next=${encodeURIComponent(back)}`;
}

// ===== HTTP API =================================================================================
// The HTTP API: JSON in, JSON out, the one error shape of meeting/errors.py turned into ApiError.

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message_en || error?.code || `HTTP ${status}`);
    this.status = status;
    this.code = error?.code || (status === 0 ? 'network' : 'internal');
    this.error = error || { code: this.code };
  }
  /** True when trying again later may work (no answer, or the server failed). */
  get transient() {
    return this.status === 0 || this.status >= 500 || this.status === 429;
  }
}

async function readError(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch {
    /* not JSON */
  }
  return { code: response.status === 404 ? 'not_found' : 'internal' };
}

// How far the server's clock is ahead of this device's (ms): phones are often minutes off, and the
// speaking timer must agree with the deadline the server set. From the Date header (1 s resolution).
let serverOffsetMs = 0;

function noteServerClock(response) {
  const header = response.headers.get('date');
  const server = header ? Date.parse(header) : NaN;
  if (!Number.isFinite(server)) return;
  const offset = server + 500 - Date.now();
  serverOffsetMs = Math.abs(offset) > 2000 ? offset : 0; // under 2 s the header is too coarse to help
}

/** Exchange an invite token for an access token (the member's link: /join#invite=...). */
export async function exchangeInvite(invite) {
  const body = await request('/api/auth/invite', { method: 'POST', body: { token: invite }, auth: false });
  const token = body.access_token || body.token;
  const session = sessionFromToken(token, invite);
  if (!session) throw new ApiError(401, { code: 'token_invalid' });
  session.meetingId ??= body.me?.meeting_id ?? null;
  saveSession(session);
  return session;
}

export async function login(username, password) {
  const body = await request('/api/auth/login', { method: 'POST', body: { username, password }, auth: false });
  const session = sessionFromToken(body.access_token || body.token);
  if (!session) throw new ApiError(401, { code: 'token_invalid' });
  saveSession(session);
  return session;
}

// A session ended on the server (signed out elsewhere, deactivated, password or role changed): 401 token_revoked
// from the API, close code 4011 from the hub. The page forgets it and goes to sign-in, saying why; a session from an
// invite link takes the link again once (the member may still be invited: a role change ended the old token).
const ENDED_KEY = 'chibo.sessionEnded';
let ending = false;

export function sessionEnded() {
  if (ending) return;
  ending = true;
  const session = current();
  clearSession();
  if (session?.invite) {
    exchangeInvite(session.invite).then(
      () => location.reload(),
      () => toSignIn(),
    );
    return;
  }
  toSignIn();
}

function toSignIn() {
  try {
    sessionStorage.setItem(ENDED_KEY, 'token_revoked');
  } catch {
    /* private mode: the sign-in page just does not say why */
  }
  location.assign(loginUrl());
}

/** Why the last session ended, once (the sign-in page shows it), or null. */
export function takeEndedReason() {
  try {
    const code = sessionStorage.getItem(ENDED_KEY);
    sessionStorage.removeItem(ENDED_KEY);
    return code;
  } catch {
    return null;
  }
}

/** Sign out: the server ends every session of this account (all devices), then this device forgets it. */
export async function signOut() {
  ending = true; // this page's own sockets and requests, refused from now on, must not send it to sign-in first
  const session = current();
  if (session?.token) {
    try {
      await fetch('/api/auth/logout', {
        method: 'POST',
        headers: { Authorization: `Bearer ${session.token}`, Accept: 'application/json' },
        cache: 'no-store',
      });
    } catch {
      /* no network: the token still runs out by itself; this device forgets it all the same */
    }
  }
  clearSession();
}

/** A usable access token: renewed from the invite when it is about to expire. */
export async function token() {
  let session = current();
  if (!session) throw new ApiError(401, { code: 'unauthenticated' });
  if (!isFresh(session)) {
    if (session.invite) session = await exchangeInvite(session.invite);
    else if (session.exp > Date.now() / 1000) session = await refreshToken(session);
  }
  if (session.exp <= Date.now() / 1000) throw new ApiError(401, { code: 'token_expired' });
  return session.token;
}

let refreshing = null;

/** A password session's token, renewed shortly before it expires (once, however many callers ask). */
function refreshToken(session) {
  refreshing ??= (async () => {
    try {
      const response = await fetch('/api/auth/refresh', {
        method: 'POST',
        headers: { Authorization: `Bearer ${session.token}`, Accept: 'application/json' },
        cache: 'no-store',
      });
      if (!response.ok) {
        if (response.status === 401 && (await readError(response)).code === 'token_revoked') sessionEnded();
        return session; // the caller reports the expiry
      }
      const body = await response.json();
      const renewed = sessionFromToken(body.access_token);
      if (!renewed) return session;
      saveSession(renewed);
      return renewed;
    } catch {
      return session; // no network: still usable until it expires
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/**
 * Call the API. `body` is sent as JSON; `as` picks how the answer is read ("json", "text", "blob").
 * Network failures become ApiError with status 0 (code "network").
 */
export async function request(path, { method = 'GET', body, auth = true, as = 'json', signal } = {}) {
  const headers = { Accept: as === 'json' ? 'application/json' : '*/*' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) headers.Authorization = `Bearer ${await token()}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
      credentials: 'same-origin',
    });
  } catch (cause) {
    if (cause?.name === 'AbortError') throw cause;
    throw new ApiError(0, { code: 'network' });
  }
  noteServerClock(response);
  if (!response.ok) {
    const error = await readError(response);
    if (auth && response.status === 401 && error.code === 'token_revoked') sessionEnded();
    throw new ApiError(response.status, error);
  }
  if (response.status === 204) return null;
  if (as === 'text') return response.text();
  if (as === 'blob') return response.blob();
  return response.json();
}

/** A fresh unique id for commands and minute entries (the server recognises a replay by it). */
export function newId(prefix = 'c') {
  const random = crypto.getRandomValues(new Uint8Array(9));
  const text = btoa(String.fromCharCode(...random)).replace(/\+/g, '-').replace(/\//g, '_');
  return `${prefix}-${Date.now().toString(36)}-${text}`;
}

// ===== live meeting =============================================================================
// The live connection to one meeting, shared by the four apps.
//
// - State: the meeting as `meeting/views.py::state_to_json` gives it, with its sequence number `seq`. It is
//   fetched once over HTTP, then kept up to date by folding the journal events the hub pushes (and those a
//   command's answer carries), strictly in sequence order. Never goes backwards.
// - Commands go over HTTP through an outbox kept on this device (localStorage). Each has a command id made
//   here, so when the connection drops after sending and before the answer, sending it again is applied
//   once by the server. The outbox is sent in order, one at a time, so a minute entry's revision never
//   overtakes the entry.
// - The hub (WebSocket /ws/meetings/{id}, signaling/PROTOCOL.md): hello with the last seq, then events. While
//   it is down the state is polled over HTTP; reconnection waits longer after each failure (with jitter).

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15000;
const POLL_MS = 3000; // state polling while the hub is unreachable
const DRAIN_RETRY_MS = 1000; // a node shutting down says Retry-After: 1
const GAP_WAIT_MS = 1500; // an event arrived ahead of one missing: wait this long, then fetch the state
const SILENCE_MS = 40000; // the hub pings every 15 s: nothing at all for this long means the link is dead
// WebSocket close codes from the hub (signaling/hub.py).
const CLOSE_UNAUTHENTICATED = 4001;
const CLOSE_FORBIDDEN = 4003;
const CLOSE_REVOKED = 4011; // the session ended on the server: sign in again (sessionEnded)
const CLOSE_NOT_FOUND = 4004;
// Codes that mean "what you asked for is already so": a replay after a lost answer, or a double tap (a chair's
// double click on a microphone's mute button included).
export const ALREADY_DONE = new Set([
  'already_present',
  'entry_unchanged',
  'hand_already_raised',
  'microphone_already_muted',
  'microphone_not_muted',
]);

/**
 * The path prefix of a node's address on this page's origin ("/node/a"; "" for the bare origin), or null when it
 * is elsewhere: a request carrying the token to another origin would need CORS (the hub's redirect needs none).
 */
function ownerBase(nodeUrl) {
  if (typeof nodeUrl !== 'string') return null;
  try {
    const url = new URL(nodeUrl, location.href);
    return url.origin === location.origin ? url.pathname.replace(/\/+$/, '') : null;
  } catch {
    return null;
  }
}

function backoffDelay(failures) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(failures, 10));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export class LiveMeeting extends EventTarget {
  /**
   * @param {object} options
   * @param {number} options.meetingId
   * @param {string} options.client  which app ("member", "chair", "clerk", "hall"): names the outbox
   * @param {number|null} options.memberId  the signed-in member (the outbox is per person)
   */
  constructor({ meetingId, client, memberId }) {
    super();
    this.meetingId = meetingId;
    this.client = client;
    this.memberId = memberId;
    // A member's page is the member's presence (the hub checks them in); the consoles and the hall are not.
    this.role = client === 'member' ? 'member' : 'hall';
    this.state = null;
    this.seq = 0;
    this.status = 'connecting'; // connecting | online | reconnecting | offline (stopped) | expired
    this.outboxKey = `chibo.outbox.${meetingId}.${memberId ?? 'anon'}.${client}`;
    this.outbox = this.loadOutbox();
    this.waiters = new Map(); // command id -> {resolve, reject}
    this.ahead = new Map(); // seq -> recorded event that arrived before the one before it
    this.flushing = false;
    this.failures = 0;
    this.hubFailures = 0;
    this.socket = null;
    this.hubUp = false;
    this.hubDisabled = typeof WebSocket === 'undefined';
    this.stopped = true;
    this.timers = new Set();
    this.onOnline = () => this.wake({ hub: true }); // the browser says the network is back
    this.onOffline = () => this.dropLink(); // ... or that it is gone: do not wait for a timeout
  }

  // -- public --------------------------------------------------------------------------------------------
  async start() {
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.watchdog = setInterval(() => this.checkSilence(), 5000);
    await this.refresh().catch((error) => this.onTransportError(error));
    this.connectHub();
    this.flush();
    return this;
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    clearInterval(this.watchdog);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.pollTimer = this.retryTimer = this.gapTimer = null;
    this.closeHub();
    this.setStatus('offline');
  }

  /** Now on the server's clock (ms), for timers that must agree with the floor deadline. */
  now() {
    return Date.now() + serverOffsetMs;
  }

  /**
   * Queue a command; resolves with the server's answer once applied, rejects with ApiError if refused.
   * It survives a dropped connection and a reload: the outbox is kept on this device until answered.
   */
  send(command, { commandId = newId(this.client[0] || 'c') } = {}) {
    const promise = new Promise((resolve, reject) => this.waiters.set(commandId, { resolve, reject }));
    this.outbox.push({ id: commandId, command, queuedAt: new Date().toISOString() });
    this.saveOutbox();
    this.emit('outbox');
    this.flush();
    return promise;
  }

  /** Replace a command still waiting in the outbox (and never sent), e.g. a newer draft of the same text. */
  replaceQueued(match, command) {
    for (let i = this.outbox.length - 1; i >= 0; i--) {
      const entry = this.outbox[i];
      if (!entry.sent && match(entry.command)) {
        entry.command = command;
        this.saveOutbox();
        return true;
      }
    }
    return false;
  }

  get pendingCount() {
    return this.outbox.length;
  }

  /** Fetch the whole state now (at start, after a gap, or while the hub is down). */
  async refresh() {
    const state = await request(`/api/meetings/${this.meetingId}/state`);
    if (!state.opened) this.plan ??= await request(`/api/prep/meetings/${this.meetingId}`).catch(() => null);
    this.acceptState(state);
    return state;
  }

  /** Before the journal opens the state is empty: its title, place, time and agenda come from the plan. */
  fillFromPlan(state) {
    if (state.opened || !this.plan) return;
    state.title ||= this.plan.title;
    state.place ||= this.plan.place;
    state.scheduled_at ||= this.plan.scheduled_at;
    if (!state.agenda?.length) {
      state.agenda = this.plan.agenda.map((item) => ({ id: item.id, title: item.title, kind: item.kind, status: 'pending' }));
    }
  }

  // -- state ---------------------------------------------------------------------------------------------
  acceptState(state) {
    if (!state || typeof state.seq !== 'number') return;
    if (this.state && state.seq < this.seq) return; // an older answer arriving late
    this.fillFromPlan(state);
    this.state = state;
    this.seq = state.seq;
    for (const seq of [...this.ahead.keys()]) if (seq <= this.seq) this.ahead.delete(seq);
    this.emit('state', state);
    this.applyAhead();
  }

  /** One journal event (from the hub, or in a command's answer): applied in order, once. */
  applyRecorded(recorded) {
    if (!recorded || typeof recorded.seq !== 'number' || recorded.seq <= this.seq) return;
    this.ahead.set(recorded.seq, recorded);
    this.emit('event', recorded);
    this.applyAhead();
  }

  applyAhead() {
    if (!this.state) return;
    let changed = false;
    while (this.ahead.has(this.seq + 1)) {
      const recorded = this.ahead.get(this.seq + 1);
      this.ahead.delete(recorded.seq);
      const next = foldEvent(this.state, recorded);
      if (!next) {
        // An event this page does not know how to apply: the server's own state is the answer.
        this.ahead.clear();
        this.refresh().catch((error) => this.onTransportError(error));
        return;
      }
      this.state = next;
      this.seq = next.seq;
      changed = true;
    }
    if (changed) this.emit('state', this.state);
    if (this.ahead.size && !this.gapTimer) {
      // Something is missing in between; the hub normally fills it at once. If not, fetch the state.
      this.gapTimer = this.later(() => {
        this.gapTimer = null;
        if (this.ahead.size) this.refresh().catch((error) => this.onTransportError(error));
      }, GAP_WAIT_MS);
    }
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.emit('status', status);
  }

  later(fn, ms) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  // -- outbox --------------------------------------------------------------------------------------------
  loadOutbox() {
    try {
      const saved = JSON.parse(localStorage.getItem(this.outboxKey) || '[]');
      return Array.isArray(saved) ? saved : [];
    } catch {
      return [];
    }
  }

  saveOutbox() {
    try {
      if (this.outbox.length) localStorage.setItem(this.outboxKey, JSON.stringify(this.outbox));
      else localStorage.removeItem(this.outboxKey);
    } catch {
      /* storage full: the outbox still lives in memory */
    }
  }

  async flush() {
    if (this.flushing || this.stopped) return;
    this.flushing = true;
    try {
      while (this.outbox.length && !this.stopped) {
        const entry = this.outbox[0];
        entry.sent = true;
        this.saveOutbox();
        let answer;
        try {
          answer = await this.postCommand(entry);
        } catch (error) {
          if (error instanceof ApiError && (error.transient || error.status === 401)) {
            this.onTransportError(error);
            return; // kept at the head of the outbox; sent again (same id) when we are back
          }
          this.outbox.shift();
          this.saveOutbox();
          this.settle(entry, error, null);
          continue;
        }
        this.outbox.shift();
        this.saveOutbox();
        this.onTransportOk();
        for (const recorded of answer?.events || []) this.applyRecorded(recorded);
        this.settle(entry, null, answer);
      }
    } finally {
      this.flushing = false;
      this.emit('outbox');
    }
  }

  /**
   * POST one command. With several nodes only the one that runs the meeting appends: another node answers 409
   * `not_owner` with that node's address (its CHIBO_NODE_URL), and the same command goes there, same id, so it is
   * applied once however often it arrives. That node takes the next commands too, until it fails.
   */
  async postCommand(entry) {
    const body = { command_id: entry.id, command: entry.command };
    return this.postToOwner(`/api/meetings/${this.meetingId}/commands`, body);
  }

  /**
   * POST a request that writes to the meeting's journal (a command, opening the meeting, a check-in by the
   * room's code) to the node that runs the meeting, following `not_owner` as above. A node shutting down
   * (503 `node_draining`) is left for whichever node the balancer picks after a second.
   */
  async postToOwner(path, body) {
    for (let hops = 0; ; hops++) {
      try {
        return await request(`${this.ownerBase ?? ''}${path}`, { method: 'POST', body });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (error.transient) this.ownerBase = null; // that node is gone: ask the balancer again
        if (hops >= 2) throw error; // no ping-pong while a lease changes hands
        if (error.code === 'node_draining') {
          await new Promise((resolve) => setTimeout(resolve, DRAIN_RETRY_MS));
          continue;
        }
        const owner = error.code === 'not_owner' ? ownerBase(error.error.details?.node_url) : null;
        if (owner === null) throw error;
        this.ownerBase = owner;
      }
    }
  }

  settle(entry, error, answer) {
    const waiter = this.waiters.get(entry.id);
    this.waiters.delete(entry.id);
    if (error) {
      // A command queued before a reload has no waiter: tell the app so it can show the refusal.
      if (waiter) waiter.reject(error);
      else this.emit('rejected', { command: entry.command, error });
    } else if (waiter) {
      waiter.resolve(answer);
    }
  }

  // -- connection health ---------------------------------------------------------------------------------
  onTransportOk() {
    this.failures = 0;
    if (this.retryTimer) {
      // A retry planned while things were failing (perhaps long, after many failures) is not needed now;
      // a failure from here on plans a short one.
      clearTimeout(this.retryTimer);
      this.timers.delete(this.retryTimer);
      this.retryTimer = null;
    }
    this.setStatus('online');
  }

  onTransportError(error) {
    if (this.stopped) return;
    if (error instanceof ApiError && error.status === 401) {
      // A session that cannot renew itself here: keep the outbox, ask the user to sign in again.
      this.setStatus('expired');
      return;
    }
    this.failures += 1;
    this.setStatus('reconnecting');
    this.scheduleRetry();
  }

  scheduleRetry() {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = this.later(() => {
      this.retryTimer = null;
      this.wake();
    }, backoffDelay(this.failures));
  }

  /** Try the server again now (HTTP; the hub too if asked): the network is back, or a back-off timer fired. */
  async wake({ hub = false } = {}) {
    if (this.stopped) return;
    if (hub && !this.socket) this.connectHub();
    try {
      await this.refresh();
      this.onTransportOk();
      this.flush();
    } catch (error) {
      this.onTransportError(error);
    }
  }

  // -- the hub (WebSocket) -------------------------------------------------------------------------------
  hubUrl() {
    if (this.redirectUrl) return this.redirectUrl; // the node that runs this meeting now
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}/ws/meetings/${this.meetingId}`;
  }

  async connectHub() {
    if (this.stopped || this.socket) return;
    if (this.hubDisabled) return this.startPolling();
    let accessToken;
    try {
      accessToken = await token();
    } catch (error) {
      this.onTransportError(error);
      return;
    }
    if (this.stopped || this.socket) return;
    const socket = new WebSocket(this.hubUrl());
    this.socket = socket;
    socket.addEventListener('open', () => {
      // First frame: who we are and what we already have, so the hub sends only what we missed.
      socket.send(JSON.stringify({ type: 'hello', v: 1, token: accessToken, last_seq: this.state ? this.seq : null, role: this.role }));
    });
    socket.addEventListener('message', (event) => this.onHubMessage(socket, event));
    socket.addEventListener('close', (event) => this.onHubClose(socket, event));
  }

  closeHub() {
    const socket = this.socket;
    this.socket = null;
    this.hubUp = false;
    if (socket) {
      try {
        socket.close(1000);
      } catch {
        /* already closed */
      }
    }
  }

  sendFrame(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  /** The network went away: close the socket now, say so, and let the retries bring it back. */
  dropLink() {
    if (this.stopped) return;
    const socket = this.socket;
    if (socket) {
      this.onHubClose(socket, { code: 1006 });
      try {
        socket.close(4000);
      } catch {
        /* already closed */
      }
    }
    this.failures += 1;
    this.setStatus('reconnecting');
    this.scheduleRetry();
  }

  checkSilence() {
    if (this.socket && this.hubUp && Date.now() - this.lastFrameAt > SILENCE_MS) this.dropLink();
  }

  onHubMessage(socket, event) {
    if (socket !== this.socket) return;
    this.lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    this.handleFrame(frame);
  }

  handleFrame(frame) {
    switch (frame.type) {
      case 'welcome':
        this.hubUp = true;
        this.redirects = 0;
        this.failures = 0;
        this.hubFailures = 0;
        this.stopPolling();
        this.setStatus('online');
        this.flush();
        this.emit('hub-up'); // the media plane (re)joins on each new socket
        break;
      case 'snapshot':
        this.acceptState(frame.state);
        break;
      case 'event':
        this.applyRecorded(frame.event);
        break;
      case 'ping':
        this.sendFrame({ type: 'pong' });
        break;
      case 'redirect':
        // Another node runs this meeting: go there straight away (the socket closes next).
        if (typeof frame.url === 'string' && /^wss?:\/\//.test(frame.url)) {
          this.redirectUrl = frame.url;
          this.followRedirect = (this.redirects = (this.redirects || 0) + 1) <= 3; // no endless ping-pong
        }
        break;
      case 'resync':
        // Dropped as too slow, or this node is going away ("server_shutdown", "moved"): start again from the
        // journal; for the last two through the page's own address, not this node's (the balancer finds the
        // node that runs the meeting now). At once the first time; a node that sends us away again at the
        // door (still draining) is tried after a back-off, not hammered.
        if (frame.reason !== 'too_slow') this.redirectUrl = null;
        this.closeHub();
        if (this.hubFailures++ === 0) {
          this.wake({ hub: true });
        } else {
          this.wake();
          this.startPolling();
          this.later(() => this.connectHub(), backoffDelay(this.hubFailures));
        }
        break;
      case 'error':
        this.emit('hub-error', frame.error);
        break;
      default:
        this.emit(`frame:${frame.type}`, frame); // the media plane listens for its own frames ("rtc")
    }
  }

  onHubClose(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.hubUp = false;
    if (this.stopped) return;
    if (event.code === CLOSE_UNAUTHENTICATED) {
      this.setStatus('expired');
      return;
    }
    if (event.code === CLOSE_REVOKED) {
      this.setStatus('expired');
      sessionEnded();
      return;
    }
    if (event.code === CLOSE_FORBIDDEN || event.code === CLOSE_NOT_FOUND) {
      // Not allowed on the live channel in this role (or the meeting is gone): HTTP alone, no retries.
      this.hubDisabled = true;
      this.startPolling();
      return;
    }
    if (this.followRedirect) {
      this.followRedirect = false;
      this.connectHub();
      return;
    }
    this.redirectUrl = null; // ask where the page came from again: it knows which node runs the meeting now
    // The hub is gone: HTTP tells whether the server is (the status follows it); the hub is tried again.
    this.hubFailures += 1;
    this.wake();
    this.startPolling();
    this.later(() => this.connectHub(), backoffDelay(this.hubFailures));
  }

  startPolling() {
    if (this.pollTimer || this.stopped) return;
    const tick = async () => {
      this.pollTimer = null;
      if (this.hubUp || this.stopped) return;
      try {
        await this.refresh();
        this.onTransportOk();
        this.flush();
      } catch (error) {
        this.onTransportError(error);
        if (error instanceof ApiError && error.status === 401) return;
      }
      this.pollTimer = this.later(tick, POLL_MS);
    };
    this.pollTimer = this.later(tick, POLL_MS);
  }

  stopPolling() {
    if (this.pollTimer) {
      clearTimeout(this.pollTimer);
      this.timers.delete(this.pollTimer);
      this.pollTimer = null;
    }
  }
}

// ===== folding journal events into the state ======================================================
// The hub sends each journal event once; the page keeps the meeting's state (the shape of
// meeting/views.py::state_to_json) by applying them in order, as meeting/domain/evolve.py does on the
// server, and recomputes the derived figures (quorum, who may vote) as meeting/domain/rules.py does.
// A browser test folds a whole scripted meeting's journal and compares the result with the server's state.

const VOTING = new Set(['official', 'exempt']);

/** A rule as state_to_json describes it ("> 2/3", ">= 1/2") as numbers. */
export function parseRule(text) {
  const match = /^(>=|>)\s*(\d+)\/(\d+)$/.exec(String(text || '').trim());
  if (!match) return { strict: true, numerator: 2, denominator: 3 };
  return { strict: match[1] === '>', numerator: Number(match[2]), denominator: Number(match[3]) };
}

function required(rule, total) {
  const bound = rule.numerator * total;
  return rule.strict ? Math.floor(bound / rule.denominator) + 1 : Math.ceil(bound / rule.denominator);
}

function met(rule, count, total) {
  if (total === 0) return false;
  return rule.strict ? count * rule.denominator > rule.numerator * total : count * rule.denominator >= rule.numerator * total;
}

function isPresent(state, memberId) {
  return state.attendance[String(memberId)]?.status === 'present';
}

/** Recompute what state_to_json derives: each person's right to vote, and the quorum figures. */
export function derive(state) {
  for (const person of state.roster) person.may_vote = VOTING.has(person.category) && isPresent(state, person.member_id);
  const eligible = state.roster.filter(
    (p) => p.category === 'official' || (p.category === 'exempt' && isPresent(state, p.member_id)),
  );
  const present = eligible.filter((p) => isPresent(state, p.member_id)).length;
  const rule = parseRule(state.rules.quorum);
  const inRoster = new Set(state.roster.map((p) => String(p.member_id)));
  let inRoom = 0;
  let online = 0;
  for (const [memberId, record] of Object.entries(state.attendance)) {
    if (record.status !== 'present' || !inRoster.has(memberId)) continue;
    if (record.mode === 'remote') online += 1;
    else inRoom += 1;
  }
  state.quorum = {
    rule: state.rules.quorum,
    eligible: eligible.length,
    present,
    required: required(rule, eligible.length),
    met: met(rule, present, eligible.length),
    present_in_room: inRoom,
    present_online: online,
  };
  return state;
}

function ruleText(strict, numerator, denominator) {
  return `${strict ? '>' : '>='} ${numerator}/${denominator}`;
}

function setItem(state, itemId, changes) {
  state.agenda = state.agenda.map((item) => (item.id === itemId ? { ...item, ...changes } : item));
}

function attendance(state, memberId) {
  return state.attendance[String(memberId)] || { status: 'expected', mode: null, first_arrived_at: null, late: false, reason: null };
}

function withoutHand(state, itemId, memberId) {
  state.queues[itemId] = (state.queues[itemId] || []).filter((hand) => hand.member_id !== memberId);
}

/** The item's minutes with `place` (taken out if it was there) at `position`, or last: as evolve.py's `_placed`. */
function placeMinute(state, itemId, place, position = null) {
  const places = (state.minute_order[itemId] || []).filter((p) => p.kind !== place.kind || p.ref !== place.ref);
  places.splice(position ?? places.length, 0, place);
  state.minute_order[itemId] = places;
}

const FOLD = {
  journal_opened(state, e) {
    Object.assign(state, {
      opened: true,
      branch_id: e.branch_id,
      title: e.title,
      kind: e.kind,
      place: e.place,
      scheduled_at: e.scheduled_at,
      chair_id: e.chair_id,
      clerk_id: e.clerk_id,
      rules: {
        quorum: ruleText(e.rules.quorum_strict, e.rules.quorum_numerator, e.rules.quorum_denominator),
        majority: ruleText(e.rules.majority_strict, e.rules.majority_numerator, e.rules.majority_denominator),
      },
      roster: e.roster.map((r) => ({ member_id: r.member_id, name: r.name, category: r.category, may_vote: false })),
      agenda: e.agenda.map((a) => ({
        id: a.id, title: a.title, kind: a.kind, status: 'pending', speaking_limit_s: a.speaking_limit_s ?? null, conclusion: null,
      })),
      queues: Object.fromEntries(
        e.agenda
          .filter((a) => a.designated_speakers?.length)
          .map((a) => [a.id, a.designated_speakers.map((m) => ({ member_id: m, kind: 'speak', raised_at: e.at }))]),
      ),
    });
  },
  meeting_started(state, e) {
    state.status = 'in_progress';
    state.started_at = e.at;
  },
  meeting_ended(state, e) {
    state.status = 'ended';
    state.ended_at = e.at;
  },
  item_opened(state, e) {
    setItem(state, e.item_id, { status: 'open' });
    state.current_item_id = e.item_id;
  },
  item_closed(state, e) {
    setItem(state, e.item_id, { status: 'closed' });
    if (state.current_item_id === e.item_id) state.current_item_id = null;
  },
  item_skipped(state, e) {
    setItem(state, e.item_id, { status: 'skipped' });
  },
  agenda_reordered(state, e) {
    const byId = new Map(state.agenda.map((item) => [item.id, item]));
    state.agenda = e.order.map((id) => byId.get(id));
  },
  item_concluded(state, e) {
    setItem(state, e.item_id, { conclusion: e.text });
    placeMinute(state, e.item_id, { kind: 'conclusion', ref: e.item_id }); // where it was last given
  },
  hand_raised(state, e) {
    const queue = [...(state.queues[e.item_id] || [])];
    queue.splice(e.position, 0, { member_id: e.member_id, kind: e.kind, raised_at: e.at });
    state.queues[e.item_id] = queue;
  },
  hand_lowered(state, e) {
    withoutHand(state, e.item_id, e.member_id);
  },
  floor_granted(state, e) {
    state.floor = { member_id: e.member_id, item_id: e.item_id, since: e.at, deadline: e.deadline ?? null };
    withoutHand(state, e.item_id, e.member_id);
  },
  floor_ended(state) {
    state.floor = null;
  },
  microphone_muted(state, e) {
    if (e.hall) state.hall_muted = true;
    else state.muted = [...new Set([...state.muted, e.member_id])].sort((x, y) => x - y);
  },
  microphone_unmuted(state, e) {
    if (e.hall) state.hall_muted = false;
    else state.muted = state.muted.filter((id) => id !== e.member_id);
  },
  checked_in(state, e) {
    const before = attendance(state, e.member_id);
    state.attendance[String(e.member_id)] = {
      status: 'present',
      mode: e.mode,
      first_arrived_at: before.first_arrived_at || e.at,
      late: before.late || e.late,
      reason: null,
    };
  },
  left(state, e) {
    state.attendance[String(e.member_id)] = { ...attendance(state, e.member_id), status: 'left' };
  },
  marked_absent(state, e) {
    const status = e.reason ? 'absent_excused' : 'absent_unexcused';
    state.attendance[String(e.member_id)] = { ...attendance(state, e.member_id), status, reason: e.reason ?? null };
  },
  vote_opened(state, e) {
    state.votes[e.vote_id] = {
      id: e.vote_id, item_id: e.item_id, question: e.question, status: 'open', opened_at: e.at, ballots: {}, hall_count: null, result: null,
    };
    state.open_vote_id = e.vote_id;
    placeMinute(state, e.item_id, { kind: 'vote', ref: e.vote_id });
  },
  ballot_cast(state, e) {
    const vote = state.votes[e.vote_id];
    state.votes[e.vote_id] = { ...vote, ballots: { ...vote.ballots, [String(e.member_id)]: e.choice } };
  },
  hall_count_recorded(state, e) {
    const counts = { votes_for: e.votes_for, votes_against: e.votes_against, votes_abstain: e.votes_abstain };
    state.votes[e.vote_id] = { ...state.votes[e.vote_id], hall_count: counts };
  },
  vote_closed(state, e) {
    const result = {
      votes_for: e.votes_for, votes_against: e.votes_against, votes_abstain: e.votes_abstain,
      not_voting: e.not_voting, basis: e.basis, passed: e.passed,
    };
    state.votes[e.vote_id] = { ...state.votes[e.vote_id], status: 'closed', result };
    if (state.open_vote_id === e.vote_id) state.open_vote_id = null;
  },
  entry_written(state, e) {
    state.minutes = [
      ...state.minutes,
      { id: e.entry_id, item_id: e.item_id, speaker_id: e.speaker_id ?? null, kind: e.kind, text: e.text, revisions: 1, written_at: e.at, revised_at: e.at },
    ];
    placeMinute(state, e.item_id, { kind: 'entry', ref: e.entry_id });
  },
  entry_moved(state, e) {
    placeMinute(state, e.item_id, { kind: 'entry', ref: e.entry_id }, e.position);
  },
  entry_revised(state, e) {
    state.minutes = state.minutes.map((entry) =>
      entry.id === e.entry_id
        ? { ...entry, speaker_id: e.speaker_id ?? null, text: e.text, revisions: entry.revisions + 1, revised_at: e.at }
        : entry,
    );
  },
};

/** An empty state for a meeting whose journal has not opened. */
/** What the item's minutes say in reading order: entries, votes and the chair's conclusion, as the record has them
 * (the clerk's moves included); an entry's place carries the entry. One order for the clerk's and the member's pages. */
export function itemMinutes(state, itemId) {
  const byId = new Map(state.minutes.map((entry) => [entry.id, entry]));
  const places = state.minute_order?.[itemId] ?? state.minutes.filter((e) => e.item_id === itemId).map((e) => ({ kind: 'entry', ref: e.id }));
  return places.filter((place) => place.kind !== 'entry' || byId.has(place.ref)).map((place) => ({ ...place, entry: byId.get(place.ref) }));
}

export function emptyState(meetingId) {
  return {
    meeting_id: meetingId, seq: 0, opened: false, branch_id: 0, title: '', kind: 'regular', place: '', scheduled_at: null,
    status: 'scheduled', chair_id: null, clerk_id: null, started_at: null, ended_at: null,
    rules: { quorum: '> 2/3', majority: '> 1/2' }, roster: [], agenda: [], current_item_id: null, attendance: {},
    quorum: null, queues: {}, floor: null, muted: [], hall_muted: false, votes: {}, open_vote_id: null, minutes: [],
    minute_order: {},
  };
}

/**
 * The state after one recorded event (a new object; the old one is left as it was), or null when this page
 * does not know the event's type (the caller then fetches the whole state instead).
 */
export function foldEvent(state, recorded) {
  const event = recorded.event;
  const apply = FOLD[event?.type];
  if (!apply) return null;
  const next = structuredClone(state);
  apply(next, event);
  next.seq = recorded.seq;
  return derive(next);
}
