// PROTOCOL.md messages and the 41-byte binary header, shared by the recorder and the tests.

/** The binary frame: session id (ASCII, space-padded to 36), kind 'a'|'f', uint32 BE index, payload. */
export function encodeFrame(sessionId, kind, index, payload /* ArrayBuffer */) {
  const out = new Uint8Array(41 + payload.byteLength);
  for (let i = 0; i < 36; i++) out[i] = i < sessionId.length ? sessionId.charCodeAt(i) : 0x20;
  out[36] = kind.charCodeAt(0);
  new DataView(out.buffer).setUint32(37, index >>> 0, false);
  out.set(new Uint8Array(payload), 41);
  return out.buffer;
}

export const sessionInit = (s) => ({
  type: 'session_init', session_id: s.sid, interview_session_id: s.interviewSessionId ?? null,
  user_id: s.userId ?? null, timestamp: new Date().toISOString(),
  ...(s.token ? { token: s.token } : {}),
});

/** Inclusive [[a,b],...] ranges from session_init_ack to a Set of indexes. */
export function rangesToSet(ranges) {
  const out = new Set();
  for (const [a, b] of ranges || []) for (let i = a; i <= b; i++) out.add(i);
  return out;
}

/** Outbox key of an item: kind 'a' | 'f' | 'r' and its index (question id for 'r'). */
export const itemKey = (sid, kind, index) => `${sid}:${kind}:${String(index).padStart(10, '0')}`;

/** Codes for which resending the same item can never succeed. */
export const FATAL_ITEM_ERRORS = new Set(['too_large', 'bad_message', 'size_mismatch', 'conflict']);
