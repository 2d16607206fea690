// End to end in headless chromium with fake camera and microphone, against the real server:
//   1. record ~35 s with three questions, stop: every chunk and frame the page stored is a file and
//      an element of the JSONB arrays exactly once, with its size; recording.webm decodes to the
//      length of the chunks on the session clock; the review pages play and show it;
//   2. reload the page mid-recording while items wait unacked in its outbox (the WebSocket is
//      routed into a black hole first): every item stored before the reload arrives exactly once;
//   3. SIGKILL the server mid-recording and restart it: the page reconnects and nothing is lost;
//   4. SIGSTOP the server: the page notices the missing acks, reconnects after SIGCONT, loses nothing;
//   5. items the server rejects as too_large are reported on the page and not retried;
//   6. audio/mp4 (Safari's format, forced with ?audio=mp4): stored as .mp4, transcribed, and
//      assembled into recording.webm like WebM chunks;
//   7. auth.mode=jwt: the recorder page records with ?token=, sub owns the session; the review
//      page with a review token shows and plays it, another user's review token sees nothing;
//   8. TLS terminated by HAProxy (the deployment the README describes): the page is served over
//      https and records over wss through the proxy.
// `node recorder_e2e.mjs <record|reload|kill|stall|reject|mp4|auth|tls>` runs one scenario (ctest runs each alone).
// Exit status 0 = all passed. Screenshots go to $MEDIASPOOL_ARTIFACTS (default build/browser-artifacts).
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { Server, launchBrowser, until, check, sleep, repo } from './harness.mjs';

const artifacts = process.env.MEDIASPOOL_ARTIFACTS || path.join(repo, 'build', 'browser-artifacts');
fs.mkdirSync(artifacts, { recursive: true });
const only = process.argv[2];

const status = (page) => page.evaluate(() => window.mediaspool && window.mediaspool.status());

async function startRecording(page) {
  await until('the recorder page to be ready', async () => (await status(page))?.state === 'connected', 20000);
  await page.click('#start');
  await until('recording to start', async () => (await status(page)).recording, 10000);
}

async function waitFinished(page) {
  return until('session_end_ack (all items acked, session ended)', async () => {
    const st = await status(page);
    return st.state === 'finished' && st;
  }, 60000);
}

// What the page stored must be on the server exactly once: same indexes, same sizes, files on disk.
async function checkStored(srv, sid, recorded, { complete }) {
  const want = { a: new Map(), f: new Map() };
  for (const r of recorded) if (r.kind !== 'r') want[r.kind].set(r.index, r.size);
  const d = await until(`session ${sid} to hold ${want.a.size} chunks and ${want.f.size} frames`, async () => {
    const s = await srv.json(`/api/sessions/${sid}`);
    const has = (arr, key, m) => [...m.keys()].every((i) => arr.some((e) => e[key] === i));
    // A row may commit before its file is synced and renamed (both follow the ack): wait for both.
    const written = (arr) => arr.every((e) => fs.existsSync(path.join(srv.mediaRoot, e.file_path)));
    return has(s.audio_chunks, 'chunk_index', want.a) && has(s.video_frames, 'frame_index', want.f)
      && written(s.audio_chunks) && written(s.video_frames)
      && (!complete || s.status === 'completed') && s;
  }, 30000);
  for (const [arr, key, kind] of [[d.audio_chunks, 'chunk_index', 'a'], [d.video_frames, 'frame_index', 'f']]) {
    const idx = arr.map((e) => e[key]);
    check(new Set(idx).size === idx.length, `${kind}: no index twice in the array (${idx})`);
    for (const e of arr) {
      if (want[kind].has(e[key])) check(e.file_size === want[kind].get(e[key]), `${kind}${e[key]}: size ${e.file_size} = recorded ${want[kind].get(e[key])}`);
      const file = path.join(srv.mediaRoot, e.file_path);
      check(fs.existsSync(file) && fs.statSync(file).size === e.file_size, `${file} exists with ${e.file_size} bytes`);
    }
    const folder = path.join(srv.mediaRoot, sid, kind === 'a' ? 'audio' : 'frames');
    const files = fs.existsSync(folder) ? fs.readdirSync(folder).filter((n) => !n.endsWith('.tmp')) : [];
    check(files.length === arr.length, `${folder}: one file per array element (${files.length} files, ${arr.length} elements)`);
  }
  const [row] = srv.sql(`SELECT jsonb_array_length(audio_chunks), jsonb_array_length(video_frames), total_chunks, total_frames,
    status, (SELECT count(DISTINCT e->>'chunk_index') FROM jsonb_array_elements(audio_chunks) e),
    (SELECT count(DISTINCT e->>'frame_index') FROM jsonb_array_elements(video_frames) e)
    FROM media_sessions WHERE session_id = '${sid}'`);
  if (complete) {
    check(Number(row[0]) === d.audio_chunks.length && Number(row[1]) === d.video_frames.length,
      `SQL arrays (${row[0]}, ${row[1]}) = API arrays (${d.audio_chunks.length}, ${d.video_frames.length})`);
    check(row[0] === row[2] && row[1] === row[3], `totals = array lengths (${row})`);
    check(row[0] === row[5] && row[1] === row[6], `no index twice in the SQL arrays (${row})`);
    check(row[4] === 'completed', `status completed (${row[4]})`);
  }
  return d;
}

// Seconds of audio in a file, decoded by the ffmpeg CLI (not the container's duration field).
function decodedSeconds(file) {
  const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', '48000', 'pipe:1'],
    { maxBuffer: 1 << 30 });
  return pcm.length / 2 / 48000;
}

// recording.webm: one WebM/Opus file holding every chunk once, on the session clock (chunk k
// starts at its start_timestamp - chunk 0's, gaps of a quarter second or more filled). Returns
// its decoded length in seconds.
async function checkRecording(srv, sid, d, seconds) {
  const r = await srv.get(`/api/sessions/${sid}/recording.webm`);
  check(r.status === 200 && r.headers.get('content-type') === 'audio/webm', `recording.webm answers 200 audio/webm (${r.status})`);
  const file = path.join(artifacts, 'recording.webm');
  fs.writeFileSync(file, new Uint8Array(await r.arrayBuffer()));
  const probe = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', file], { encoding: 'utf8' }).trim();
  check(probe === 'opus', `recording.webm holds one Opus stream (${probe})`);
  const whole = decodedSeconds(file);
  const chunks = [...d.audio_chunks].sort((a, b) => a.chunk_index - b.chunk_index);
  const lengths = chunks.map((c) => decodedSeconds(path.join(srv.mediaRoot, c.file_path)));
  const sum = lengths.reduce((a, b) => a + b, 0);
  const t0 = Date.parse(chunks[0].start_timestamp);
  let expected = 0;
  chunks.forEach((c, i) => {
    const wall = (Date.parse(c.start_timestamp) - t0) / 1000;
    expected = (wall - expected >= 0.25 ? wall : expected) + lengths[i];
  });
  console.log(`recording.webm: ${whole.toFixed(3)} s decoded; chunks ${lengths.map((x) => x.toFixed(3)).join(' + ')} = ${sum.toFixed(3)} s; on the clock ${expected.toFixed(3)} s`);
  check(whole >= sum - 0.05, `recording.webm (${whole.toFixed(3)} s) holds all chunks (${sum.toFixed(3)} s)`);
  check(Math.abs(whole - expected) < 0.1 * chunks.length + 0.05, `recording.webm (${whole.toFixed(3)} s) is as long as the chunks on the session clock (${expected.toFixed(3)} s)`);
  check(Math.abs(whole - seconds) < 3, `~${seconds.toFixed(1)} s were recorded (${whole.toFixed(3)} s)`);
  return whole;
}

// -- scenarios -------------------------------------------------------------------------------------

async function recordAndReview(srv, browser) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${srv.origin}/?user_id=5&interview_session_id=77`);
  await startRecording(page);
  const started = Date.now();
  await sleep(11000);           // the candidate answers question 1, then 2, then 3: ~35 s
  await page.click('#next');
  await sleep(12000);
  await page.click('#next');
  await sleep(12000);
  await page.screenshot({ path: path.join(artifacts, 'recorder-recording.png') });
  await page.click('#stop');
  const recordedFor = (Date.now() - started) / 1000; // ~35 s, more when clicks are slow
  const st = await waitFinished(page);
  await page.screenshot({ path: path.join(artifacts, 'recorder-finished.png') });
  const audio = st.recorded.filter((r) => r.kind === 'a');
  const frames = st.recorded.filter((r) => r.kind === 'f');
  check(audio.length >= 4, `~35 s in 10 s chunks gives at least 4 chunks (${audio.length})`);
  check(frames.length >= 15, `a frame every 2 s gives at least 15 frames (${frames.length})`);
  check(audio.every((a, i) => a.index === i), 'chunk indexes 0..n-1 in order');
  check(st.rejected.length === 0, `nothing rejected (${JSON.stringify(st.rejected)})`);
  const d = await checkStored(srv, st.sid, st.recorded, { complete: true });
  check(d.user_id === 5 && d.interview_session_id === 77, 'user and interview from the page URL');
  check(JSON.stringify(d.responses.map((r) => r.question_id)) === '[1,2,3]', `responses for questions 1..3 (${JSON.stringify(d.responses)})`);
  check(d.audio_chunks.every((c) => c.mime_type === 'audio/webm' && c.duration_ms > 0), 'chunks are audio/webm with a duration');

  const first = await srv.get(`/api/sessions/${st.sid}/audio/0`);
  const bytes = new Uint8Array(await first.arrayBuffer());
  check(first.headers.get('content-type') === 'audio/webm', 'audio/webm content type');
  check(bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3, 'chunk 0 is a WebM file (EBML magic)');
  const jpg = new Uint8Array(await (await srv.get(`/api/sessions/${st.sid}/frames/0`)).arrayBuffer());
  check(jpg[0] === 0xff && jpg[1] === 0xd8, 'frame 0 is a JPEG');

  // The fake microphone plays a flite voice: the server's transcriber turns some chunk into text.
  const said = await until('a transcription of a chunk', async () => {
    const s = await srv.json(`/api/sessions/${st.sid}`);
    return s.audio_chunks.some((c) => typeof c.transcription === 'string' && c.transcription.trim()) && s;
  }, 90000, 1000);

  const whole = await checkRecording(srv, st.sid, d, recordedFor);

  const review = await ctx.newPage();
  await review.goto(`${srv.origin}/review/`);
  await review.waitForSelector(`text=${st.sid}`, { timeout: 10000 });
  await review.screenshot({ path: path.join(artifacts, 'review-list.png'), fullPage: true });
  await review.click(`text=${st.sid}`);
  await until('the review page to load the session audio and frames', () => review.evaluate(() => {
    const p = document.getElementById('player');
    const imgs = [...document.querySelectorAll('#frames img')];
    return Number.isFinite(p.duration) && p.duration > 0 && imgs.length > 0 && imgs[0].complete && imgs[0].naturalWidth > 0;
  }), 15000);
  const shown = await review.evaluate(() => ({ frames: document.querySelectorAll('#frames img').length,
                                               questions: document.querySelectorAll('section.question').length,
                                               transcript: document.querySelectorAll('#transcript p').length }));
  check(shown.frames === d.video_frames.length, `review shows every frame (${shown.frames})`);
  check(shown.questions === 3, `review shows 3 question sections (${shown.questions})`);
  const lines = said.audio_chunks.filter((c) => typeof c.transcription === 'string' && c.transcription.trim()).length;
  check(shown.transcript >= lines && lines > 0, `review shows a transcript line per transcribed chunk (${shown.transcript}/${lines})`);
  const player = await review.evaluate(() => ({ src: document.getElementById('player').src, duration: document.getElementById('player').duration }));
  check(player.src.endsWith(`/api/sessions/${st.sid}/recording.webm`), `the review page plays the whole recording (${player.src})`);
  check(Math.abs(player.duration - whole) < 0.5, `the player reads recording.webm as ~${whole.toFixed(2)} s long (${player.duration})`);
  await review.evaluate(() => document.getElementById('player').play());
  await until('the player to play the recording', () => review.evaluate(() => document.getElementById('player').currentTime > 0.5), 10000);
  // A transcript line seeks the recording to its time.
  // Where the seek landed, not where playback has got to by the time a slow machine looks.
  const seekTo = await review.evaluate(() => {
    const player = document.getElementById('player');
    player.addEventListener('seeked', () => { window.seekedAt = player.currentTime; });
    const lines = [...document.querySelectorAll('#transcript p[data-at]')];
    const last = lines[lines.length - 1];
    last.click();
    return Number(last.dataset.at) / 1000;
  });
  await until(`a click on the last transcript line to seek to ${seekTo} s`, () => review.evaluate((t) =>
    typeof window.seekedAt === 'number' && Math.abs(window.seekedAt - t) < 0.5, seekTo), 10000);
  await review.screenshot({ path: path.join(artifacts, 'review-session.png'), fullPage: true });
  await ctx.close();
  console.log(`ok record and review: ${audio.length} chunks, ${frames.length} frames`);
}

async function reloadMidRecording(srv, browser) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  // The page's WebSocket goes through a switch: 'pass' connects it to the server, 'hole' swallows
  // everything (no acks), so items pile up unacked in the outbox, as on a dead network.
  let mode = 'pass';
  const open = new Set();
  await page.routeWebSocket(/\/ws\/media-stream/, (ws) => {
    open.add(ws);
    if (mode === 'pass') ws.connectToServer();
    else ws.onMessage(() => {});
  });
  await page.goto(`${srv.origin}/?stall_ms=3000`);
  await startRecording(page);
  await until('a chunk and some frames acked', async () => {
    const st = await status(page);
    return st.recorded.some((r) => r.kind === 'a') && st.acked >= 4;
  }, 30000);
  mode = 'hole';
  for (const ws of open) await ws.close({ code: 1001 }).catch(() => {});
  const snap = await until('items stored but not acked', async () => {
    const st = await status(page);
    return st.waiting >= 3 && st;
  }, 20000);
  mode = 'pass';
  await page.reload();
  const after = await until('the reloaded page to upload its outbox', async () => {
    const st = await status(page);
    return st && st.state === 'connected' && st.waiting === 0 && st;
  }, 30000);
  check(after.sid === snap.sid, `the reloaded page keeps the session id (${after.sid})`);
  check(after.acked >= snap.waiting, `the reloaded page sent what the outbox held (${after.acked} acked, ${snap.waiting} were waiting)`);
  await checkStored(srv, snap.sid, snap.recorded, { complete: false });
  // Recording continues in the same session, with indexes after the stored ones.
  await page.click('#start');
  await until('recording to start again', async () => (await status(page)).recording, 10000);
  await sleep(5000);
  await page.click('#stop');
  const end = await waitFinished(page);
  for (const kind of ['a', 'f']) {
    const before = snap.recorded.filter((r) => r.kind === kind).map((r) => r.index);
    const later = end.recorded.filter((r) => r.kind === kind).map((r) => r.index);
    check(later.every((i) => i > Math.max(-1, ...before)), `${kind}: no index reused after the reload`);
  }
  await checkStored(srv, snap.sid, [...snap.recorded, ...end.recorded], { complete: true });
  await ctx.close();
  console.log(`ok reload mid-recording: ${snap.recorded.length} items before the reload (${snap.waiting} unacked), ${end.recorded.length} after`);
}

async function killServerMidRecording(srv, browser) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${srv.origin}/`);
  await startRecording(page);
  await until('a chunk stored', async () => (await status(page)).recorded.some((r) => r.kind === 'a'), 30000);
  await srv.kill9();
  await until('the page to see the connection lost', async () => (await status(page)).state !== 'connected', 10000);
  await sleep(4000); // the server stays down while the page keeps recording into its outbox
  const during = await status(page);
  check(during.waiting > 0, `items wait in the outbox while the server is down (${during.waiting})`);
  await srv.start();
  await until('the page to reconnect and drain its outbox', async () => {
    const st = await status(page);
    return st.state === 'connected' && st.waiting === 0;
  }, 40000);
  await page.click('#stop');
  const st = await waitFinished(page);
  await checkStored(srv, st.sid, st.recorded, { complete: true });
  await ctx.close();
  console.log(`ok kill -9 mid-recording: ${st.recorded.length} items stored exactly once`);
}

async function stalledServer(srv, browser) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${srv.origin}/?stall_ms=3000&frame_ms=500`);
  await startRecording(page);
  await until('a frame acked', async () => (await status(page)).acked > 0, 20000);
  srv.pause();
  try {
    // No socket error ever comes from a stopped server: only the missing acks reveal it.
    await until('the page to give up on the silent connection', async () => {
      const st = await status(page);
      return st.state !== 'connected' && st.waiting > 0;
    }, 15000);
  } finally {
    srv.resume();
  }
  await until('the page to reconnect and drain its outbox', async () => {
    const st = await status(page);
    return st.state === 'connected' && st.waiting === 0;
  }, 40000);
  await page.click('#stop');
  const st = await waitFinished(page);
  check(st.attempt === 0, 'the backoff was reset by the successful reconnect');
  await checkStored(srv, st.sid, st.recorded, { complete: true });
  await ctx.close();
  console.log(`ok stalled server detected by missing acks: ${st.recorded.length} items stored exactly once`);
}

async function rejectTooLarge(srv, browser) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${srv.origin}/`);
  await startRecording(page);
  await until('a chunk and 3 frames stored', async () => {
    const st = await status(page);
    return st.recorded.some((r) => r.kind === 'a') && st.recorded.filter((r) => r.kind === 'f').length >= 3;
  }, 30000);
  await page.click('#stop');
  const st = await waitFinished(page);
  const frames = st.recorded.filter((r) => r.kind === 'f');
  const rejected = st.rejected.filter((r) => r.kind === 'f' && r.code === 'too_large').map((r) => r.index).sort((x, y) => x - y);
  check(JSON.stringify(rejected) === JSON.stringify(frames.map((f) => f.index)),
    `every frame (larger than the server's 2000-byte limit) is reported as too_large once (${JSON.stringify(st.rejected)})`);
  const shown = await page.textContent('#rejected');
  check(shown.includes('too_large'), `the page shows the rejected items (${shown})`);
  const audio = st.recorded.filter((r) => r.kind === 'a');
  const d = await checkStored(srv, st.sid, audio, { complete: true });
  check(d.video_frames.length === 0, 'no rejected frame is stored');
  await ctx.close();
  console.log(`ok too_large frames reported and not retried: ${rejected.length} frames, ${audio.length} chunks stored`);
}

async function recordMp4(srv, browser) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${srv.origin}/?audio=mp4&chunk_ms=5000`);
  await startRecording(page);
  const started = Date.now();
  await sleep(15000);
  await page.click('#stop');
  const recordedFor = (Date.now() - started) / 1000;
  const st = await waitFinished(page);
  const audio = st.recorded.filter((r) => r.kind === 'a');
  check(audio.length >= 3, `~15 s in 5 s chunks gives at least 3 chunks (${audio.length})`);
  const d = await checkStored(srv, st.sid, st.recorded, { complete: true });
  check(d.audio_chunks.every((c) => c.mime_type === 'audio/mp4' && c.file_path.endsWith(`chunk_${c.chunk_index}.mp4`)),
    `chunks are stored as audio/mp4 .mp4 files (${d.audio_chunks.map((c) => c.file_path).join(' ')})`);
  const first = await srv.get(`/api/sessions/${st.sid}/audio/0`);
  check(first.headers.get('content-type') === 'audio/mp4', `chunk 0 is served as audio/mp4 (${first.headers.get('content-type')})`);
  await checkRecording(srv, st.sid, d, recordedFor);
  const said = await until('a transcription of an mp4 chunk', async () => {
    const t = await srv.json(`/api/sessions/${st.sid}/transcript`);
    return t.complete && t;
  }, 90000, 1000);
  // The chunk cut at stop may hold an MP4 header and no samples: marked failed, never retried.
  check(said.failed <= 1 && said.segments.length >= 2, `mp4 chunks are transcribed (${said.failed} failed; ${said.segments.map((x) => x.text).join(' / ')})`);
  await ctx.close();
  console.log(`ok mp4: ${audio.length} chunks stored as .mp4, assembled and transcribed`);
}

const JWT_SECRET = 'browser-test-secret-of-at-least-32-bytes!';
function jwt(claims) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })}`;
  return `${input}.${crypto.createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`;
}

async function recordWithAuth(srv, browser) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${srv.origin}/?user_id=1&token=${jwt({ sub: '9', scope: 'record' })}`);
  await startRecording(page);
  await sleep(12000);
  await page.click('#stop');
  const st = await waitFinished(page);
  check(st.rejected.length === 0, `nothing rejected (${JSON.stringify(st.rejected)})`);
  const [row] = srv.sql(`SELECT user_id, status, total_chunks FROM media_sessions WHERE session_id = '${st.sid}'`);
  check(row && row[0] === '9' && row[1] === 'completed', `the token's sub (9) owns the completed session (${row})`);

  const api = (p, tok) => srv.get(p, tok ? { headers: { Authorization: `Bearer ${tok}` } } : {});
  check((await api('/api/sessions')).status === 401, 'the review API refuses a request without a token');
  const other = await (await api('/api/sessions', jwt({ sub: '10', scope: 'review' }))).json();
  check(other.sessions.length === 0, `another user's review token sees no session (${JSON.stringify(other)})`);

  const review = await ctx.newPage();
  await review.goto(`${srv.origin}/review/?token=${jwt({ sub: '9', scope: 'review' })}`);
  await review.waitForSelector(`text=${st.sid}`, { timeout: 10000 });
  await review.click(`text=${st.sid}`);
  await until('the review page to play the recording and show the frames with the token', () => review.evaluate(() => {
    const p = document.getElementById('player');
    const imgs = [...document.querySelectorAll('#frames img')];
    return Number.isFinite(p.duration) && p.duration > 5 && imgs.length > 0 && imgs[0].complete && imgs[0].naturalWidth > 0;
  }), 20000);
  await review.screenshot({ path: path.join(artifacts, 'review-auth.png'), fullPage: true });
  await ctx.close();
  console.log(`ok auth: recorded as user 9 with a token, reviewed with a review token, hidden from user 10`);
}

// HAProxy terminating TLS with a fresh self-signed certificate, forwarding to the server. Returns
// its https origin and a stop function (kills the PID it started).
async function tlsProxy(srv) {
  const dir = fs.mkdtempSync(path.join(srv.dir, 'tls-'));
  const key = path.join(dir, 'key.pem'), crt = path.join(dir, 'crt.pem'), pem = path.join(dir, 'site.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  fs.writeFileSync(pem, fs.readFileSync(crt, 'utf8') + fs.readFileSync(key, 'utf8'));
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
  const cfg = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cfg, ['global', '  maxconn 200', 'defaults', '  mode http', '  timeout connect 2s',
    '  timeout client 60s', '  timeout server 60s', '  timeout tunnel 1h', 'frontend tls',
    `  bind 127.0.0.1:${port} ssl crt ${pem}`, '  http-request set-header X-Forwarded-Proto https',
    '  default_backend node', 'backend node', `  server s ${new URL(srv.origin).host}`, ''].join('\n'));
  const proc = spawn('haproxy', ['-db', '-f', cfg], { stdio: 'ignore' });
  const origin = `https://127.0.0.1:${port}`;
  // The certificate is our own: this probe does not verify it (the browser is told to accept it).
  const healthy = () => new Promise((resolve) => {
    https.get(`${origin}/healthz`, { rejectUnauthorized: false }, (res) => { res.resume(); resolve(res.statusCode === 200); })
      .on('error', () => resolve(false));
  });
  await until('haproxy to serve https', healthy, 10000);
  return { origin, stop: () => { proc.kill('SIGTERM'); } };
}

async function recordOverTls(srv, browser) {
  const proxy = await tlsProxy(srv);
  try {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await ctx.newPage();
    const sockets = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.goto(`${proxy.origin}/?user_id=3`);
    await startRecording(page);
    await sleep(12000);
    await page.click('#stop');
    const st = await waitFinished(page);
    check(sockets.length > 0 && sockets.every((u) => u.startsWith(`wss://127.0.0.1:${new URL(proxy.origin).port}/ws/media-stream?sid=`)),
      `the page recorded over wss through the proxy (${sockets.join(' ')})`);
    await checkStored(srv, st.sid, st.recorded, { complete: true });
    await ctx.close();
    console.log(`ok tls: ${st.recorded.length} items recorded over wss through HAProxy`);
  } finally {
    proxy.stop();
  }
}

// A ~17 s answer read by flite (voice rms, the one pocketsphinx understands best: STACK.md).
function speechWav(dir) {
  const wav = path.join(dir, 'speech.wav');
  execFileSync('flite', ['-voice', 'rms', '-t', 'Hello, my name is John and I am applying for the software engineer '
    + 'position. I have five years of experience building web services in Python and C plus plus. Thank you for '
    + 'inviting me to this interview. I enjoy working with teams on hard problems.', '-o', wav]);
  return wav;
}

// -- main ------------------------------------------------------------------------------------------

const scenarios = {
  record: { fn: recordAndReview, speech: true },
  reload: { fn: reloadMidRecording },
  kill: { fn: killServerMidRecording },
  stall: { fn: stalledServer },
  reject: { fn: rejectTooLarge, args: ['--limits.max-frame-bytes=2000'] },
  mp4: { fn: recordMp4, speech: true },
  auth: { fn: recordWithAuth, args: ['--auth.mode=jwt', `--auth.secret=${JWT_SECRET}`] },
  tls: { fn: recordOverTls },
};
if (only && !scenarios[only]) {
  console.error(`unknown scenario ${only}; one of ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
let failed = false;
for (const [name, { fn, args, speech }] of Object.entries(scenarios)) {
  if (only && only !== name) continue;
  const srv = await Server.create(args || []);
  const browser = await launchBrowser(speech ? [`--use-file-for-fake-audio-capture=${speechWav(srv.dir)}%noloop`] : []);
  try {
    await fn(srv, browser);
  } catch (e) {
    failed = true;
    console.error(`FAILED ${name}: ${e.stack || e}`);
    console.error(`server log:\n${srv.logTail()}`);
  } finally {
    await browser.close();
    await srv.dispose();
  }
}
process.exit(failed ? 1 : 0);
