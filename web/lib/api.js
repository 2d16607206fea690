// The review API (PROTOCOL.md section 4) as small fetch helpers.

async function getJson(url) {
  const r = await fetch(url, { headers: { Accept: 'application/json' } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`${r.status} ${body.error || ''} ${body.message || ''}`.trim());
  return body;
}

export function listSessions({ limit = 20, cursor, userId, status } = {}) {
  const q = new URLSearchParams({ limit: String(limit) });
  if (cursor) q.set('cursor', String(cursor));
  if (userId != null && userId !== '') q.set('user_id', String(userId));
  if (status) q.set('status', status);
  return getJson(`/api/sessions?${q}`);
}

export const getSession = (sid) => getJson(`/api/sessions/${encodeURIComponent(sid)}`);
export const getTranscript = (sid) => getJson(`/api/sessions/${encodeURIComponent(sid)}/transcript`);
export const audioUrl = (sid, n) => `/api/sessions/${encodeURIComponent(sid)}/audio/${n}`;
export const frameUrl = (sid, n) => `/api/sessions/${encodeURIComponent(sid)}/frames/${n}`;
export const recordingUrl = (sid) => `/api/sessions/${encodeURIComponent(sid)}/recording.webm`;

/** True if the server can serve the whole recording as one file (it assembles it on this request). */
export async function hasRecording(sid) {
  try { return (await fetch(recordingUrl(sid), { method: 'HEAD' })).ok; } catch (e) { return false; }
}
