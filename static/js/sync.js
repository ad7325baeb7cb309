// Live sync: a Socket.IO connection that gives a snapshot on connect and then
// every event in seq order, in `events` messages: a list of one or more
// consecutive events (the server sends what it drained at once as one message).
// A gap in seq, or an event the model cannot apply, means this copy may be
// wrong: refetch /api/state (events that arrive in the meantime are buffered
// and replayed on top of it). Socket.IO reconnects by itself; every
// (re)connect brings a fresh snapshot, preceded by `access` ({presenter}):
// whether this connection may act, or only watch.
//
// Each seq applied (a snapshot's, or an event's) is reported to onApplied(seq,
// atMs), atMs the wall-clock time it was applied here: the page's owner
// records it (main.js: window.forkscope, read by tests and benchmarks).
// What was applied is also given whole, for the page's history (time
// travel, the timeline): onSnapshot(snapshot) right after the model was
// reset to it, onEvent(event) right after the model applied it.

import { io } from "/static/vendor/socket.io.esm.min.js";
import { OutOfSync } from "./model.js";

const ACK_TIMEOUT_MS = 15000;
const EVENTS_KEPT = 5000;
const HISTORY_FETCHED = 2000;

export class Sync {
  constructor(model, { onChange, onStatus, onEvents, onAccess = () => {}, onApplied = () => {},
    onSnapshot = () => {}, onEvent = () => {}, auth = {} }) {
    this.model = model;
    this.onChange = onChange;
    this.onStatus = onStatus;
    this.onEvents = onEvents;
    this.onAccess = onAccess;
    this.onApplied = onApplied;
    this.onSnapshot = onSnapshot;
    this.onEvent = onEvent;
    this.presenter = null;               // unknown until the server says
    this.appliedSeq = 0;
    this.events = new Map();             // seq -> event, for the log and the details
    this.resyncing = false;
    this.buffer = [];
    this.status = "connecting";
    this.socket = null;
    this.resyncCount = 0;
    this.auth = auth;                    // sent on every (re)connect: the voter id (polls.js)
    this.listeners = [];                 // [name, fn]: messages besides the stream's
  }

  /** Listen to a message of the server's own besides the stream (`poll`,
   * `poll_counts`: polls.js), on this and every later connection. */
  on(name, fn) {
    this.listeners.push([name, fn]);
    if (this.socket) this.socket.on(name, fn);
  }

  connect() {
    // Websocket first: the dashboard writes one frame to every websocket viewer
    // (app/web/hall.py); HTTP long-polling only if the websocket cannot open.
    const socket = io({ reconnectionDelay: 500, reconnectionDelayMax: 3000, auth: this.auth,
      transports: ["websocket", "polling"], tryAllTransports: true });
    for (const [name, fn] of this.listeners) socket.on(name, fn);
    this.socket = socket;
    socket.on("connect", () => this.setStatus("connected"));
    socket.on("disconnect", (reason) => {
      this.setStatus("reconnecting");
      if (reason === "io server disconnect") socket.connect();
    });
    socket.on("connect_error", () => this.setStatus("reconnecting"));
    socket.on("access", (access) => {
      this.presenter = Boolean(access && access.presenter);
      this.onAccess(this.presenter);
    });
    socket.on("snapshot", (snapshot) => this.applySnapshot(snapshot));
    socket.on("events", (events) => this.receive(events));
  }

  setStatus(status) {
    this.status = status;
    this.onStatus(status);
  }

  get connected() {
    return Boolean(this.socket && this.socket.connected);
  }

  // -- applying -----------------------------------------------------------------
  applySnapshot(snapshot) {
    this.model.reset(snapshot);
    this.onSnapshot(snapshot);
    this.markApplied(snapshot.seq);
    this.resyncing = false;
    const pending = this.buffer.filter((e) => e.seq > snapshot.seq);
    this.buffer = [];
    for (const event of pending) this.step(event); // remembered when they arrived
    this.onChange();
    this.fetchHistory();
  }

  // A list of events in seq order (one `events` message): each is applied in
  // turn, then one onChange for the lot.
  receive(events) {
    this.remember(events, { live: true });
    let changed = false;
    for (const event of events) changed = this.step(event) || changed;
    if (changed) this.onChange();
  }

  // One event: apply it if it is the next seq; buffer it while resyncing; a gap
  // or an event the model refuses starts a resync (later events of the same
  // list are then buffered). True if the model changed.
  step(event) {
    if (this.resyncing) {
      this.buffer.push(event);
      return false;
    }
    if (event.seq <= this.appliedSeq) return false; // already in the snapshot
    if (event.seq !== this.appliedSeq + 1) {
      this.buffer.push(event);
      this.resync(`gap: expected ${this.appliedSeq + 1}, got ${event.seq}`);
      return false;
    }
    try {
      this.model.apply(event);
    } catch (error) {
      if (!(error instanceof OutOfSync)) console.error(error);
      this.markApplied(event.seq);
      this.resync(error.message);
      return false;
    }
    this.onEvent(event);
    this.markApplied(event.seq);
    return true;
  }

  markApplied(seq) {
    this.appliedSeq = seq;
    this.onApplied(seq, performance.timeOrigin + performance.now());
  }

  async resync(reason) {
    if (this.resyncing) return;
    this.resyncing = true;
    this.resyncCount += 1;
    console.info(`forkscope: resync (${reason})`);
    this.onStatus("resyncing");
    for (let attempt = 0; this.resyncing; attempt += 1) {
      try {
        const response = await fetch("/api/state", { cache: "no-store" });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const state = await response.json();
        if (!this.resyncing) return; // a snapshot from the socket got there first
        this.applySnapshot(state);
        this.onStatus(this.connected ? "connected" : "reconnecting");
        return;
      } catch (error) {
        console.warn("forkscope: resync failed", error);
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 5000)));
      }
    }
  }

  // -- events kept for the log and the details panel ------------------------------
  remember(events, { live = false } = {}) {
    const added = [];
    for (const event of events) {
      if (!this.events.has(event.seq)) {
        this.events.set(event.seq, event);
        added.push(event);
      }
    }
    if (!added.length) return;
    if (added.some((e, i) => i > 0 && e.seq < added[i - 1].seq)
        || added[0].seq < this.lastEventSeq()) {
      this.events = new Map([...this.events.entries()].sort((a, b) => a[0] - b[0]));
    }
    while (this.events.size > EVENTS_KEPT) this.events.delete(this.events.keys().next().value);
    this.onEvents(added, { live });
  }

  lastEventSeq() {
    let last = 0;
    for (const seq of this.events.keys()) last = seq;
    return last;
  }

  async fetchHistory() {
    // Fill the log with what happened before this page connected (or while it
    // was away): the most recent HISTORY_FETCHED events the server still keeps.
    const after = Math.max(0, this.appliedSeq - HISTORY_FETCHED);
    const missing = [];
    for (let seq = after + 1; seq <= this.appliedSeq; seq += 1) {
      if (!this.events.has(seq)) {
        missing.push(seq);
        break;
      }
    }
    if (!missing.length) return;
    try {
      const response = await fetch(`/api/events?after=${missing[0] - 1}`, { cache: "no-store" });
      if (!response.ok) return;
      const body = await response.json();
      this.remember(body.events);
    } catch (error) {
      console.warn("forkscope: could not fetch the event history", error);
    }
  }

  eventsList() {
    return [...this.events.values()];
  }

  // -- actions ----------------------------------------------------------------------
  // The server's ack, as it sent it: {ok: true, status, body} (body: what the
  // REST route answers) or {ok: false, status, error, code, params}. When it
  // cannot answer, an error of the same shape with a code of the page's own.
  async call(name, payload) {
    if (!this.connected) {
      return { ok: false, code: "offline", error: "not connected", params: {} };
    }
    try {
      return await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(name, payload);
    } catch {
      return { ok: false, code: "ack_timeout", error: "no answer within 15 s", params: {} };
    }
  }
}
