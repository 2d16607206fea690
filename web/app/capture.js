// Camera and microphone: MediaRecorder restarted every chunkMs (stop, then start again in onstop,
// so every chunk is a complete, independently playable file) and a JPEG frame from a canvas
// every frameMs. Emits chunks and frames through callbacks; stores nothing itself.

export const MIN_CHUNK_BYTES = 1024; // a stop right after a start yields a ~110-byte invalid WebM

/** The audio type this browser can record: WebM/Opus, else MP4 (Safari/iOS). `prefer` 'mp4'
 *  takes MP4 where the browser has both (to exercise the Safari path from Chromium). */
export function pickAudioType(prefer) {
  const mp4 = { recorder: 'audio/mp4', mime: 'audio/mp4' };
  if (prefer === 'mp4' && window.MediaRecorder && MediaRecorder.isTypeSupported('audio/mp4')) return mp4;
  if (window.MediaRecorder && MediaRecorder.isTypeSupported('audio/webm;codecs=opus'))
    return { recorder: 'audio/webm;codecs=opus', mime: 'audio/webm' };
  return mp4;
}

export class Capture {
  /** opts: chunkMs, frameMs, video (HTMLVideoElement), onChunk({blob, start, end, mime}),
   *  onFrame({blob, time}), onSkipped(size), audio ('mp4' to prefer MP4) */
  constructor(opts) {
    this.o = opts;
    this.type = pickAudioType(opts.audio);
    this.running = false;
  }

  async open() {
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    this.o.video.srcObject = this.stream;
    this.o.video.muted = true;
    await this.o.video.play().catch(() => {});
    this.audio = new MediaStream(this.stream.getAudioTracks());
  }

  start() {
    this.running = true;
    this.recorder = new MediaRecorder(this.audio, { mimeType: this.type.recorder });
    this.recorder.ondataavailable = (ev) => { if (ev.data && ev.data.size) this.parts.push(ev.data); };
    this.recorder.onstop = () => this.onStop();
    this.begin();
    this.frameTimer = setInterval(() => this.grabFrame(), this.o.frameMs);
  }

  /** Stops recording; resolves after the last chunk was handed to onChunk. */
  stop() {
    this.running = false;
    clearInterval(this.frameTimer);
    clearTimeout(this.cycle);
    if (!this.recorder || this.recorder.state === 'inactive') return Promise.resolve();
    return new Promise((resolve) => { this.stopped = resolve; this.recorder.stop(); });
  }

  release() {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
  }

  begin() {
    this.parts = [];
    this.chunkStart = new Date();
    this.recorder.start();
    this.cycle = setTimeout(() => { if (this.recorder.state === 'recording') this.recorder.stop(); }, this.o.chunkMs);
  }

  async onStop() {
    const blob = new Blob(this.parts, { type: this.type.mime });
    const start = this.chunkStart;
    const end = new Date();
    if (this.running) this.begin(); // restart first: the gap between chunks stays tiny
    if (blob.size >= MIN_CHUNK_BYTES) await this.o.onChunk({ blob, start, end, mime: this.type.mime });
    else if (this.o.onSkipped) this.o.onSkipped(blob.size);
    if (!this.running && this.stopped) { const s = this.stopped; this.stopped = null; s(); }
  }

  grabFrame() {
    const v = this.o.video;
    if (!v.videoWidth) return;
    const canvas = this.canvas || (this.canvas = document.createElement('canvas'));
    canvas.width = v.videoWidth;
    canvas.height = v.videoHeight;
    canvas.getContext('2d').drawImage(v, 0, 0);
    const time = new Date();
    canvas.toBlob((blob) => { if (blob && this.running) this.o.onFrame({ blob, time }); }, 'image/jpeg', 0.8);
  }
}
