// The recorder page: wires capture -> outbox -> uploader, the question flow, and the status line.
import { Capture } from './capture.js';
import { Outbox } from './outbox.js';
import { Uploader } from './uploader.js';
import { itemKey } from '../lib/protocol.js';

const params = new URLSearchParams(location.search);
const cfg = {
  chunkMs: Number(params.get('chunk_ms')) || 10000,
  frameMs: Number(params.get('frame_ms')) || 2000,
  stallMs: Number(params.get('stall_ms')) || 15000,
  userId: params.has('user_id') ? Number(params.get('user_id')) : 1,
  interviewSessionId: params.has('interview_session_id') ? Number(params.get('interview_session_id')) : null,
  token: params.get('token') || undefined,
  audio: params.get('audio') || undefined, // 'mp4': record MP4 where WebM is also possible
};
const QUESTIONS = [
  'Tell us about yourself.',
  'Describe a project you are proud of.',
  'Why do you want this position?',
];

const $ = (id) => document.getElementById(id);
// ?sid= lets a load balancer route every connection of a session to the same node (README,
// "Running at scale"); the server itself reads the session id from session_init.
const wsUrl = (sid) => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/media-stream?sid=${encodeURIComponent(sid)}`;

let outbox, session, capture, uploader, startedAt = 0, question = null;
const recorded = []; // {kind, index, size}: what this page stored (for the status and for tests)
const skipped = [];

async function persist() { await outbox.saveSession(session); }

function newSession() {
  return { sid: crypto.randomUUID(), userId: cfg.userId, interviewSessionId: cfg.interviewSessionId,
           token: cfg.token, nextAudio: 0, nextFrame: 0, question: 0, recordedMs: 0, created: Date.now() };
}

async function store(kind, index, meta, blob) {
  const item = { key: itemKey(session.sid, kind, index), kind, index, meta, blob,
                 size: blob ? blob.size : 0, created: Date.now() };
  await outbox.put(item, session);
  recorded.push({ kind, index, size: item.size });
  uploader.enqueue(item);
}

async function onChunk({ blob, start, end, mime }) {
  const index = session.nextAudio++;
  const meta = { type: 'audio_metadata', session_id: session.sid, chunk_index: index,
                 start_timestamp: start.toISOString(), end_timestamp: end.toISOString(),
                 duration_ms: end - start, size: blob.size, mime_type: mime };
  await store('a', index, meta, blob);
}

async function onFrame({ blob, time }) {
  const index = session.nextFrame++;
  const meta = { type: 'frame_metadata', session_id: session.sid, frame_index: index,
                 timestamp: time.toISOString(), chunk_index: session.nextAudio,
                 offset_ms: Math.max(0, time - capture.chunkStart), size: blob.size };
  await store('f', index, meta, blob);
}

async function closeQuestion() {
  if (!question) return;
  const q = question;
  question = null;
  const meta = { type: 'response_metadata', session_id: session.sid, question_id: q.id,
                 question_text: q.text, start_timestamp: q.start.toISOString(),
                 end_timestamp: new Date().toISOString() };
  await store('r', q.id, meta, null);
}

async function showQuestion() {
  await closeQuestion();
  if (session.question >= QUESTIONS.length) { $('question').textContent = 'No more questions. Press Stop when done.'; return; }
  const id = session.question + 1;
  question = { id, text: QUESTIONS[session.question], start: new Date() };
  session.question++;
  await persist();
  $('question').textContent = `Question ${id}: ${question.text}`;
}

function startUploader() {
  uploader = new Uploader({
    url: wsUrl(session.sid), outbox, session, stallMs: cfg.stallMs, onChange: render,
    onRejected: (it, err) => console.warn('rejected', it.key, err.code),
    onEnded: () => { $('done').hidden = false; $('review').href = `/review/#${session.sid}`; render(); },
  });
  uploader.start();
}

async function start() {
  $('start').disabled = true;
  try {
    if (!capture) { capture = new Capture({ chunkMs: cfg.chunkMs, frameMs: cfg.frameMs, video: $('preview'), audio: cfg.audio,
                                            onChunk, onFrame, onSkipped: (n) => skipped.push(n) });
                    await capture.open(); }
  } catch (e) {
    $('start').disabled = false;
    $('error').textContent = `Camera or microphone unavailable: ${e.message}`;
    return;
  }
  capture.start();
  startedAt = Date.now();
  $('stop').disabled = false;
  $('next').disabled = false;
  await showQuestion();
}

async function stop() {
  $('stop').disabled = true;
  $('next').disabled = true;
  await closeQuestion();
  await capture.stop();
  capture.release();
  session.recordedMs += Date.now() - startedAt;
  startedAt = 0;
  session.stopped = true;
  await persist();
  uploader.requestEnd();
  render();
}

function fmt(ms) {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function render() {
  if (!session || !uploader) return;
  const st = uploader.status();
  const ms = session.recordedMs + (startedAt ? Date.now() - startedAt : 0);
  $('time').textContent = fmt(ms);
  $('conn').textContent = st.state;
  $('acked').textContent = st.acked;
  $('waiting').textContent = `${st.waiting} (${(st.waitingBytes / 1024).toFixed(0)} KB, ${st.inFlight} in flight)`;
  $('warn').hidden = st.waiting < 6;
  $('warn').textContent = `${st.waiting} items are waiting to upload: keep this page open until they are sent.`;
  $('rejected').textContent = st.rejected.map((r) => `${r.kind}${r.index}: ${r.code}`).join(', ');
  $('sid').textContent = session.sid;
}

async function main() {
  outbox = await Outbox.open();
  session = await outbox.loadSession();
  if (session && session.stopped) {
    // Stopped but not yet confirmed by the server: finish the upload, then end the session.
    startUploader();
    uploader.requestEnd();
    $('start').disabled = true;
    $('resume-note').hidden = false;
  } else {
    if (session) $('resume-note').hidden = false; // a reload mid-recording: upload what is stored
    else { session = newSession(); await persist(); }
    startUploader();
  }
  $('start').onclick = start;
  $('stop').onclick = stop;
  $('next').onclick = showQuestion;
  $('new').onclick = async () => { if (uploader) uploader.close(); await outbox.clear(); location.reload(); };
  setInterval(render, 500);
  render();
  // For tests and troubleshooting.
  window.mediaspool = {
    status: () => ({ sid: session.sid, recorded: recorded.slice(), skipped: skipped.slice(),
                     recording: !!startedAt, ...uploader.status() }),
  };
}

main();
