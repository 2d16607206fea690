// One session on one time axis (ms from the start of the first chunk): where each chunk starts,
// where each frame and each answer falls. Chunks sit on the session's clock (their
// start_timestamp), laid end to end by duration_ms where the clock says they touch, exactly as
// the server places them in recording.webm, so the axis, the whole recording and the
// transcript's offsets agree.

const time = (s) => (s ? Date.parse(s) : NaN);
const minGapMs = 250; // the server's recording assembler fills gaps from this length on

export class Timeline {
  constructor(session) {
    this.chunks = [...(session.audio_chunks || [])].sort((a, b) => a.chunk_index - b.chunk_index);
    this.starts = [];
    const t0 = this.chunks.length ? time(this.chunks[0].start_timestamp) : NaN;
    let t = 0;
    for (const c of this.chunks) {
      const wall = time(c.start_timestamp) - t0;
      const at = !Number.isNaN(wall) && wall - t >= minGapMs ? wall : t;
      this.starts.push(at);
      t = at + (c.duration_ms || 0);
    }
    this.total = t;
    const byIndex = new Map(this.chunks.map((c, i) => [c.chunk_index, i]));
    this.frames = [...(session.video_frames || [])].sort((a, b) => a.frame_index - b.frame_index).map((f) => {
      const i = byIndex.get(f.chunk_index);
      return { ...f, at: (i === undefined ? this.wall(f.timestamp) : this.starts[i] + (f.offset_ms || 0)) };
    });
    this.questions = [...(session.responses || [])].sort((a, b) => a.question_id - b.question_id)
      .map((q) => ({ ...q, from: this.wall(q.start_timestamp), to: this.wall(q.end_timestamp) }));
  }

  /** A wall-clock time mapped onto the axis through the chunk that contains it. */
  wall(ts) {
    const w = time(ts);
    if (Number.isNaN(w) || !this.chunks.length) return 0;
    for (let i = this.chunks.length - 1; i >= 0; i--) {
      const s = time(this.chunks[i].start_timestamp);
      if (!Number.isNaN(s) && w >= s) return Math.min(this.starts[i] + (w - s), this.total);
    }
    return 0;
  }

  /** The chunk holding axis time `ms` and the offset into it. */
  locate(ms) {
    for (let i = this.chunks.length - 1; i >= 0; i--)
      if (ms >= this.starts[i]) return { i, offset: ms - this.starts[i] };
    return { i: this.chunks.length ? 0 : -1, offset: 0 };
  }

  /** The index of the last frame at or before `ms`, or -1. */
  frameAt(ms) {
    let k = -1;
    this.frames.forEach((f, i) => { if (f.at <= ms) k = i; });
    return k;
  }
}
