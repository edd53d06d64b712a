// Replays a recorded console into noVNC: a fake channel (what noVNC accepts instead of a
// WebSocket) receives a synthetic RFB handshake with no security, the recorded ServerInit, then
// the server's bytes on the recording's clock. What noVNC sends back goes nowhere: a replay is
// view-only and never reaches a VM.

/** One record of `replay_data`'s answer. */
export interface ScreenRecord {
  /** 0x10 ServerInit, 0x01 server bytes, 0x16 keyframe: in the screen's records a marker holding
   * the chunk it starts (u32 LE), fetched in full (a ServerInit then a whole-screen update)
   * when a seek starts there. */
  kind: number;
  atMs: number;
  bytes: Uint8Array;
}

export const KIND_INIT = 0x10;
export const KIND_SERVER = 0x01;
export const KIND_KEYFRAME = 0x16;
/** A gap longer than this is skipped when "skip idle" is on. */
export const IDLE_GAP_MS = 2000;

/** Parses `replay_data`'s binary answer: kind u8, at_ms u32, len u32 (LE), bytes. */
export function parseScreenRecords(buf: ArrayBuffer): ScreenRecord[] {
  const view = new DataView(buf);
  const out: ScreenRecord[] = [];
  let at = 0;
  while (at + 9 <= buf.byteLength) {
    const kind = view.getUint8(at);
    const atMs = view.getUint32(at + 1, true);
    const len = view.getUint32(at + 5, true);
    if (at + 9 + len > buf.byteLength) throw new Error(`replay data cut inside a record at byte ${at}`);
    out.push({ kind, atMs, bytes: new Uint8Array(buf, at + 9, len) });
    at += 9 + len;
  }
  if (at !== buf.byteLength) throw new Error("replay data ends inside a record header");
  return out;
}

/** What noVNC needs of a channel (see noVNC's Websock.attach). */
export class ReplayChannel {
  binaryType = "arraybuffer";
  protocol = "";
  readyState = 1; // WebSocket.OPEN: noVNC starts at once
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: ArrayBuffer }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  onclose: ((e: unknown) => void) | null = null;

  /** What noVNC sends (its version, security choice, requests) is dropped: it takes no argument
   * here, since JavaScript ignores the one noVNC passes. */
  send(): void {}

  close(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code: 1000, reason: "replay closed", wasClean: true });
  }

  /** Hands bytes to noVNC as one message. */
  deliver(bytes: Uint8Array): void {
    if (this.readyState !== 1 || bytes.length === 0) return;
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    this.onmessage?.({ data: copy.buffer });
  }
}

/** The server's side of an RFB 3.8 handshake with security None, up to (not including)
 * ServerInit, as the messages noVNC reads one by one: version, security types, SecurityResult. */
export function syntheticHandshake(): Uint8Array[] {
  return [
    new TextEncoder().encode("RFB 003.008\n"),
    new Uint8Array([1, 1]), // one security type: None
    new Uint8Array([0, 0, 0, 0]), // SecurityResult: OK
  ];
}

/** The chunk a keyframe marker stands for. */
export function markerChunk(marker: ScreenRecord): number {
  if (marker.bytes.length !== 4) throw new Error("a keyframe marker of the wrong size");
  return new DataView(marker.bytes.buffer, marker.bytes.byteOffset, 4).getUint32(0, true);
}

/** Splits a keyframe's bytes into its ServerInit message and its FramebufferUpdate. */
export function splitKeyframe(bytes: Uint8Array): { init: Uint8Array; update: Uint8Array } {
  if (bytes.length < 24) throw new Error("a keyframe too short for its ServerInit");
  const nameLen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(20);
  const split = 24 + nameLen;
  if (split > bytes.length) throw new Error("a keyframe cut inside its ServerInit");
  return { init: bytes.subarray(0, split), update: bytes.subarray(split) };
}

/** Concatenates byte arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The replay's clock and cursor over the records: which records are due at a time, where the
 * next idle gap ends. Pure: the view drives it with timestamps.
 */
export class Timeline {
  /** Index of the next record to deliver. */
  next = 0;
  /** Recording time shown, in ms. */
  position = 0;

  constructor(
    readonly records: ScreenRecord[],
    readonly durationMs: number,
  ) {}

  /** The records due up to `t` (moving the cursor), and the position becomes `t`. */
  advanceTo(t: number): ScreenRecord[] {
    const due: ScreenRecord[] = [];
    while (this.next < this.records.length && (this.records[this.next]?.atMs ?? Infinity) <= t) {
      const r = this.records[this.next];
      if (r) due.push(r);
      this.next++;
    }
    this.position = Math.min(Math.max(t, this.position), this.durationMs);
    return due;
  }

  /** Where playback should jump to when nothing happens for a while after `t`, or null. */
  idleSkipTarget(t: number): number | null {
    const r = this.records[this.next];
    if (!r) return null;
    return r.atMs - t > IDLE_GAP_MS ? r.atMs - 200 : null;
  }

  /** Index of the last keyframe at or before `t`, or -1. */
  keyframeBefore(t: number): number {
    let found = -1;
    // Binary search on time: records are in time order.
    let lo = 0;
    let hi = this.records.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.records[mid]?.atMs ?? Infinity) <= t) lo = mid + 1;
      else hi = mid - 1;
    }
    for (let i = hi; i >= 0; i--) {
      if (this.records[i]?.kind === KIND_KEYFRAME) {
        found = i;
        break;
      }
    }
    return found;
  }

  /** Continues after record `index` (a keyframe the viewer was restarted from). */
  jumpTo(index: number): void {
    this.next = index + 1;
    this.position = this.records[index]?.atMs ?? 0;
  }

  /** Rewinds to the start (a backwards seek replays from ServerInit). */
  rewind(): void {
    this.next = 0;
    this.position = 0;
  }

  get finished(): boolean {
    return this.next >= this.records.length && this.position >= this.durationMs;
  }
}
