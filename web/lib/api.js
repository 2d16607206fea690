// The review API (PROTOCOL.md section 4) as small fetch helpers. With auth.mode=jwt the page is
// opened as /review/?token=<JWT with scope review or admin>: fetches send it as a bearer token,
// and media URLs (<audio>, <img> cannot send headers) carry it as access_token. It is kept in
// sessionStorage (this tab only) so navigation inside the page keeps it.

const token = (() => {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl) sessionStorage.setItem('mediaspool.review-token', fromUrl);
  return fromUrl || sessionStorage.getItem('mediaspool.review-token') || '';
})();

const authorized = (url) => (token ? `${url}${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}` : url);

async function getJson(url) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(url, { headers });
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
export const audioUrl = (sid, n) => authorized(`/api/sessions/${encodeURIComponent(sid)}/audio/${n}`);
export const frameUrl = (sid, n) => authorized(`/api/sessions/${encodeURIComponent(sid)}/frames/${n}`);
export const recordingUrl = (sid) => authorized(`/api/sessions/${encodeURIComponent(sid)}/recording.webm`);

/** True if the server can serve the whole recording as one file (it assembles it on this request). */
export async function hasRecording(sid) {
  try { return (await fetch(recordingUrl(sid), { method: 'HEAD' })).ok; } catch (e) { return false; }
}
