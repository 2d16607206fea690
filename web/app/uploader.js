// The connection to the server: session_init, resend of what the server does not hold, acks that
// empty the outbox, stall detection, and reconnects with jittered exponential backoff (>= 1 s:
// Chromium throttles faster WebSocket retries).
import { encodeFrame, sessionInit, rangesToSet, FATAL_ITEM_ERRORS } from '../lib/protocol.js';

export class Uploader {
  /**
   * opts: url, outbox, session ({sid, userId, interviewSessionId}), stallMs, onChange(status),
   * onRejected(item, error), onEnded(ack)
   */
  constructor(opts) {
    this.o = opts;
    this.sid = opts.session.sid;
    this.pending = new Map();   // key -> item, everything stored and not yet acked
    this.sentAt = new Map();    // key -> time the item was last sent on this connection
    this.ws = null;
    this.ready = false;
    this.attempt = 0;
    this.acked = 0;
    this.rejected = [];
    this.state = 'idle';
    this.endRequested = false;
    this.stopped = false;
    this.lastRx = 0;
    this.openedAt = 0;
    this.timer = setInterval(() => this.checkStall(), 1000);
  }

  async start() {
    for (const item of await this.o.outbox.items(this.sid)) this.pending.set(item.key, item);
    this.connect();
  }

  /** A new item already stored in the outbox. */
  enqueue(item) {
    this.pending.set(item.key, item);
    if (this.ready) this.send(item);
    this.changed();
  }

  /** Sends session_end once everything is acked. */
  requestEnd() {
    this.endRequested = true;
    this.maybeEnd();
  }

  close() {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.retry);
    if (this.ws) { this.detach(this.ws); this.ws.close(1000); }
  }

  status() {
    let bytes = 0;
    for (const it of this.pending.values()) bytes += it.size || 0;
    return { state: this.state, acked: this.acked, waiting: this.pending.size, waitingBytes: bytes,
             inFlight: this.sentAt.size, rejected: this.rejected.slice(), attempt: this.attempt };
  }

  // -- connection -----------------------------------------------------------------------------

  connect() {
    if (this.stopped) return;
    this.setState('connecting');
    const ws = new WebSocket(this.o.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.ready = false;
    this.awaitingEnd = false;
    this.sentAt.clear();
    this.openedAt = Date.now();
    ws.onopen = () => {
      this.lastRx = Date.now();
      this.setState('handshake');
      ws.send(JSON.stringify(sessionInit(this.o.session)));
    };
    ws.onmessage = (ev) => { this.lastRx = Date.now(); if (typeof ev.data === 'string') this.onText(ev.data); };
    ws.onclose = () => this.lost(ws);
    ws.onerror = () => {};
  }

  detach(ws) { ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null; }

  lost(ws) {
    if (ws !== this.ws) return;
    this.detach(ws);
    this.ws = null;
    this.ready = false;
    this.sentAt.clear();
    if (this.stopped) return;
    const base = Math.min(15000, 1000 * 2 ** Math.min(this.attempt, 4));
    const delay = Math.max(1000, base * (0.75 + Math.random() * 0.5));
    this.attempt++;
    this.setState(`reconnecting in ${(delay / 1000).toFixed(1)} s`);
    this.retry = setTimeout(() => this.connect(), delay);
  }

  // No ack (or no init ack) within stallMs while we wait for one: the server or the path is dead,
  // even if the browser never reports a close (a hung server looks like an idle socket).
  checkStall() {
    if (!this.ws || this.stopped) return;
    const now = Date.now();
    const waiting = !this.ready || this.sentAt.size > 0 || this.awaitingEnd;
    const since = Math.max(this.lastRx, this.openedAt);
    if (waiting && now - since > this.o.stallMs) {
      const ws = this.ws;
      this.lost(ws);
      try { ws.close(); } catch (e) { /* already closing */ }
    }
  }

  // -- messages ---------------------------------------------------------------------------------

  async onText(text) {
    let m;
    try { m = JSON.parse(text); } catch (e) { return; }
    switch (m.type) {
      case 'session_init_ack': return this.onInitAck(m);
      case 'audio_ack': return this.onAck('a', m.chunk_index);
      case 'frame_ack': return this.onAck('f', m.frame_index);
      case 'response_ack': return this.onAck('r', m.question_id);
      case 'session_end_ack':
        this.awaitingEnd = false;
        await this.o.outbox.clear();
        this.setState('finished');
        this.close();
        if (this.o.onEnded) this.o.onEnded(m);
        return;
      case 'error': return this.onError(m);
      default: return;
    }
  }

  async onInitAck(m) {
    this.attempt = 0;
    const held = { a: rangesToSet(m.audio_received), f: rangesToSet(m.frames_received) };
    for (const [key, item] of [...this.pending]) {
      if (held[item.kind] && held[item.kind].has(item.index)) await this.forget(key, true);
    }
    this.ready = true;
    this.setState('connected');
    const items = [...this.pending.values()].sort((x, y) => x.created - y.created);
    for (const item of items) this.send(item);
    this.maybeEnd();
  }

  async onAck(kind, index) {
    const key = [...this.pending.keys()].find((k) => {
      const it = this.pending.get(k);
      return it.kind === kind && it.index === index;
    });
    if (key) await this.forget(key, true);
    this.maybeEnd();
  }

  async onError(m) {
    const ref = m.ref;
    if (ref && FATAL_ITEM_ERRORS.has(m.code)) {
      for (const [key, it] of this.pending) {
        if (it.kind === ref.kind && it.index === ref.index) {
          this.rejected.push({ kind: it.kind, index: it.index, code: m.code, message: m.message });
          if (this.o.onRejected) this.o.onRejected(it, m);
          await this.forget(key, false);
          break;
        }
      }
      this.maybeEnd();
    }
    this.changed();
  }

  async forget(key, acked) {
    if (!this.pending.has(key)) return;
    this.pending.delete(key);
    this.sentAt.delete(key);
    if (acked) this.acked++;
    await this.o.outbox.delete(key);
    this.changed();
  }

  maybeEnd() {
    if (this.endRequested && this.ready && this.pending.size === 0 && !this.awaitingEnd) {
      this.awaitingEnd = true;
      this.ws.send(JSON.stringify({ type: 'session_end', session_id: this.sid }));
      this.setState('ending');
    }
  }

  // A closed socket drops sends silently, so only an OPEN socket of this connection is used;
  // anything not acked is sent again after the next session_init.
  async send(item) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    this.sentAt.set(item.key, Date.now());
    ws.send(JSON.stringify(item.meta));
    if (item.kind === 'r') return;
    const bytes = await item.blob.arrayBuffer();
    if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(encodeFrame(this.sid, item.kind, item.index, bytes));
    this.changed();
  }

  setState(s) { this.state = s; this.changed(); }
  changed() { if (this.o.onChange) this.o.onChange(this.status()); }
}
