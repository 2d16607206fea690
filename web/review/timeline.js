// One session on one time axis (ms from the start of the first chunk): where each chunk starts,
// where each frame and each answer falls. Chunks are laid end to end by duration_ms (their
// container timestamps restart at 0), ordered by index.

const time = (s) => (s ? Date.parse(s) : NaN);

export class Timeline {
  constructor(session) {
    this.chunks = [...(session.audio_chunks || [])].sort((a, b) => a.chunk_index - b.chunk_index);
    this.starts = [];
    let t = 0;
    for (const c of this.chunks) { this.starts.push(t); t += c.duration_ms || 0; }
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
