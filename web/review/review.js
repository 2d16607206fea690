// The review pages: the sessions list (keyset paging) and one session (the whole recording, or
// chunk after chunk until the server has assembled it; frames strip synced with playback;
// per-question sections with the answer's text; the transcript with timings, click to seek).
import { listSessions, getSession, getTranscript, audioUrl, frameUrl, recordingUrl, hasRecording } from '../lib/api.js';
import { Timeline } from './timeline.js';

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  for (const c of children) e.append(c);
  return e;
};
const fmtMs = (ms) => {
  const s = Math.round((ms || 0) / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

// -- list ------------------------------------------------------------------------------------------

const pages = [];   // cursors of the pages shown so far (undefined = first page)
async function showList(cursor) {
  $('list-view').hidden = false;
  $('session-view').hidden = true;
  const page = await listSessions({ cursor, userId: $('f-user').value.trim(), status: $('f-status').value });
  const body = $('sessions');
  body.replaceChildren();
  for (const s of page.sessions) {
    const tr = el('tr', { className: 'row' },
      el('td', { textContent: s.created_at ? s.created_at.replace('T', ' ').slice(0, 19) : '' }),
      el('td', { textContent: s.user_id ?? '' }),
      el('td', { textContent: fmtMs(s.duration_ms) }),
      el('td', { textContent: s.status }),
      el('td', { textContent: s.total_chunks }),
      el('td', { textContent: s.total_frames }),
      el('td', { textContent: s.session_id, className: 'muted' }));
    tr.onclick = () => { location.hash = s.session_id; };
    body.append(tr);
  }
  if (!page.sessions.length) body.append(el('tr', {}, el('td', { colSpan: 7, textContent: 'No sessions.' })));
  $('more').disabled = page.next_cursor == null;
  $('more').onclick = () => { pages.push(cursor); showList(page.next_cursor); };
  $('prev').disabled = pages.length === 0;
  $('prev').onclick = () => showList(pages.pop());
}

// -- one session -----------------------------------------------------------------------------------

async function showSession(sid) {
  $('list-view').hidden = true;
  $('session-view').hidden = false;
  const s = await getSession(sid);
  const tl = new Timeline(s);
  $('title').textContent = `Session ${s.session_id}`;
  $('meta').textContent = `user ${s.user_id ?? '-'} · started ${s.created_at || ''} · ${s.status} · `
    + `${s.total_chunks} chunks · ${s.total_frames} frames · ${fmtMs(tl.total)}`;

  const player = $('player');
  const whole = await hasRecording(sid);
  let current = 0;
  const load = (i, at = 0) => {
    current = i;
    player.src = audioUrl(sid, tl.chunks[i].chunk_index);
    player.currentTime = at / 1000;
    for (const c of document.querySelectorAll('.chunk')) c.classList.toggle('current', Number(c.dataset.i) === i);
  };
  const seek = (ms) => {
    if (whole) { player.currentTime = ms / 1000; player.play(); return; }
    const { i, offset } = tl.locate(ms);
    if (i < 0) return;
    load(i, offset);
    player.play();
  };
  const now = () => (whole ? player.currentTime * 1000 : (tl.chunks[current] ? tl.starts[current] : 0) + player.currentTime * 1000);

  $('chunks').replaceChildren();
  if (whole) {
    player.src = recordingUrl(sid);
  } else if (tl.chunks.length) {
    tl.chunks.forEach((c, i) => {
      const a = el('a', { className: 'chunk', textContent: `#${c.chunk_index}` });
      a.dataset.i = i;
      a.onclick = () => seek(tl.starts[i]);
      $('chunks').append(a);
    });
    load(0);
    // Chunks play one after another: the next starts when one ends.
    player.onended = () => { if (current + 1 < tl.chunks.length) { load(current + 1); player.play(); } };
  }

  const strip = $('frames');
  strip.replaceChildren();
  const figs = tl.frames.map((f) => {
    const fig = el('figure', {}, el('img', { src: frameUrl(sid, f.frame_index), loading: 'lazy', alt: `frame ${f.frame_index}` }),
      el('figcaption', { textContent: fmtMs(f.at) }));
    fig.onclick = () => seek(f.at);
    strip.append(fig);
    return fig;
  });
  player.ontimeupdate = () => {
    const t = now();
    $('position').textContent = `${fmtMs(t)} / ${fmtMs(tl.total)}`;
    const k = tl.frameAt(t);
    figs.forEach((fig, i) => fig.classList.toggle('current', i === k));
    if (k >= 0 && figs[k].classList.contains('current')) figs[k].scrollIntoView({ block: 'nearest', inline: 'nearest' });
  };

  const transcript = await getTranscript(sid).catch(() => null);
  const answers = new Map((transcript?.questions || []).map((q) => [q.question_id, q.text]));
  $('questions').replaceChildren();
  for (const q of tl.questions) {
    const sec = el('section', { className: 'question' },
      el('strong', { textContent: `Question ${q.question_id}` }), ' ',
      el('span', { textContent: q.question_text || '' }),
      el('div', { className: 'muted', textContent: `${fmtMs(q.from)} – ${fmtMs(q.to)}` }),
      el('div', { className: 'answer', textContent: answers.get(q.question_id) || '' }));
    sec.onclick = () => seek(q.from);
    $('questions').append(sec);
  }
  if (!tl.questions.length) $('questions').textContent = 'No answers recorded.';

  $('transcript').replaceChildren();
  for (const seg of transcript?.segments || []) {
    const at = seg.start_s * 1000;
    const p = el('p', { textContent: `${fmtMs(at)}  ${seg.text}` });
    p.dataset.at = String(at);
    p.onclick = () => seek(at);
    $('transcript').append(p);
  }
  if (!transcript?.segments?.length) $('transcript').textContent = 'No transcript yet.';
  else if (!transcript.complete) $('transcript').append(el('p', { className: 'muted', textContent: `${transcript.pending} chunk(s) still being transcribed…` }));
}

async function route() {
  $('error').textContent = '';
  try {
    const sid = decodeURIComponent(location.hash.slice(1));
    if (sid) await showSession(sid);
    else await showList(undefined);
  } catch (e) {
    $('error').textContent = e.message;
  }
}

$('filters').onsubmit = (ev) => { ev.preventDefault(); pages.length = 0; showList(undefined); };
window.addEventListener('hashchange', route);
route();
