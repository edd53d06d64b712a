// One replay window's state: loads its recording over IPC (replay windows may read their own
// session's recording and nothing else), drives noVNC through a ReplayChannel, and keeps the
// clock the toolbar shows.
import RFB from "@novnc/novnc";
import { IpcError, replayData, replayInfo, type ReplayInfo } from "../lib/ipc";
import {
  KIND_INIT,
  KIND_KEYFRAME,
  KIND_SERVER,
  ReplayChannel,
  Timeline,
  concat,
  markerChunk,
  parseScreenRecords,
  splitKeyframe,
  syntheticHandshake,
  type ScreenRecord,
} from "./player";

/** Builds the viewer; tests pass a fake. */
export type ReplayRfbFactory = (target: HTMLElement, channel: ReplayChannel) => RFB;

const noVnc: ReplayRfbFactory = (target, channel) => {
  const rfb = new RFB(target, channel as unknown as WebSocket, {});
  rfb.viewOnly = true;
  rfb.scaleViewport = true;
  return rfb;
};

/** Chunks asked for per `replay_data` call (the shell's maximum). */
const CHUNKS_PER_CALL = 16;
/** At most this much is handed to noVNC per frame. */
const FRAME_BYTES = 8 << 20;
/** Playback speeds offered. */
export const SPEEDS = [1, 2, 4, 8] as const;

export type ReplayState = "loading" | "ready" | "playing" | "paused" | "ended" | "failed";

/** Injected for tests: the IPC calls and the clock. */
export interface ReplayDeps {
  info: () => Promise<ReplayInfo>;
  data: (from: number, count: number, keyframes?: boolean) => Promise<ArrayBuffer>;
  now: () => number;
}

/** Keyframes kept after a seek fetched them (a few MiB each). */
const KEYFRAMES_KEPT = 4;

const defaultDeps: ReplayDeps = { info: replayInfo, data: replayData, now: () => performance.now() };

export class ReplaySession {
  state = $state<ReplayState>("loading");
  info = $state<ReplayInfo | null>(null);
  error = $state<string | null>(null);
  /** Recording time shown, ms. */
  position = $state(0);
  speed = $state<number>(1);
  skipIdle = $state(true);
  /** Chunks loaded of all. */
  loaded = $state(0);

  #records: ScreenRecord[] = [];
  #init: Uint8Array | null = null;
  #timeline: Timeline | null = null;
  #channel: ReplayChannel | null = null;
  #rfb: RFB | null = null;
  #target: HTMLElement | null = null;
  #lastTick = 0;
  #backlog: Uint8Array[] = [];
  /** Keyframes fetched, by chunk, oldest first (not state: nothing renders them). */
  #keyframes: [number, Uint8Array][] = [];
  /** Each seek's number: a slower seek that finishes after a newer one is dropped. */
  #seeks = 0;
  readonly #factory: ReplayRfbFactory;
  readonly #deps: ReplayDeps;

  constructor(factory: ReplayRfbFactory = noVnc, deps: ReplayDeps = defaultDeps) {
    this.#factory = factory;
    this.#deps = deps;
  }

  get durationMs(): number {
    return this.info?.durationMs ?? 0;
  }

  /** Loads the header and every chunk, then shows the first screen. */
  async load(target: HTMLElement): Promise<void> {
    this.#target = target;
    try {
      const info = await this.#deps.info();
      this.info = info;
      const records: ScreenRecord[] = [];
      for (let from = 0; from < info.chunks.length; from += CHUNKS_PER_CALL) {
        records.push(...parseScreenRecords(await this.#deps.data(from, CHUNKS_PER_CALL)));
        this.loaded = Math.min(info.chunks.length, from + CHUNKS_PER_CALL);
      }
      const initIndex = records.findIndex((r) => r.kind === KIND_INIT);
      if (initIndex < 0) throw new Error("this recording holds no screen (the session never got past its handshake)");
      this.#init = records[initIndex]?.bytes ?? null;
      this.#records = records
        .slice(initIndex + 1)
        .filter((r) => r.kind === KIND_SERVER || r.kind === KIND_KEYFRAME);
      this.#timeline = new Timeline(this.#records, info.durationMs);
      this.#restart();
      this.state = "ready";
    } catch (raw) {
      this.state = "failed";
      this.error = raw instanceof IpcError ? raw.message : raw instanceof Error ? raw.message : String(raw);
    }
  }

  /** A fresh viewer at the recording's start: handshake and ServerInit delivered at once. */
  #restart(): void {
    if (!this.#init || !this.#timeline) return;
    if (!this.#connect(this.#init)) return;
    this.#timeline.rewind();
    this.position = 0;
  }

  /** The keyframe a marker stands for, fetched once (and kept among the last few). */
  async #keyframe(marker: ScreenRecord): Promise<Uint8Array> {
    const seq = markerChunk(marker);
    const kept = this.#keyframes.find(([s]) => s === seq);
    if (kept) return kept[1];
    const found = parseScreenRecords(await this.#deps.data(seq, 1, true)).find((r) => r.kind === KIND_KEYFRAME);
    if (!found) throw new Error(`chunk ${seq} holds no keyframe`);
    this.#keyframes.push([seq, found.bytes]);
    if (this.#keyframes.length > KEYFRAMES_KEPT) this.#keyframes.shift();
    return found.bytes;
  }

  /** A fresh viewer at keyframe `bytes` (marker record `index`): its ServerInit, then its
   * whole-screen update, then what follows the marker. */
  #restartAt(index: number, bytes: Uint8Array): void {
    if (!this.#timeline) return;
    const { init, update } = splitKeyframe(bytes);
    if (!this.#connect(init)) return;
    this.#backlog.push(update);
    this.#timeline.jumpTo(index);
    this.position = this.#timeline.position;
  }

  /** Replaces the viewer with a new one that has read the handshake and `init`. */
  #connect(init: Uint8Array): boolean {
    // noVNC's disconnect closes its channel (and takes its canvas away) itself.
    this.#rfb?.disconnect();
    this.#rfb = null;
    if (!this.#target) return false;
    const channel = new ReplayChannel();
    this.#channel = channel;
    this.#backlog = [];
    this.#rfb = this.#factory(this.#target, channel);
    // One message per handshake step: noVNC handles one step per message until it is connected.
    for (const step of syntheticHandshake()) channel.deliver(step);
    channel.deliver(init);
    return true;
  }

  /** Queues records for noVNC; `#pump` hands them over a slice per frame. Keyframes are only
   * for seeking: in order, the updates around them already paint the same screen. */
  #deliver(records: ScreenRecord[]): void {
    for (const r of records) if (r.kind !== KIND_KEYFRAME) this.#backlog.push(r.bytes);
    this.#pump();
  }

  /** Hands noVNC at most FRAME_BYTES of the backlog: its receive queue stops growing at 40 MiB,
   * so a long seek is fed over several frames instead of in one message. */
  #pump(): void {
    const slice: Uint8Array[] = [];
    let size = 0;
    while (this.#backlog.length > 0 && (size === 0 || size + (this.#backlog[0]?.length ?? 0) <= FRAME_BYTES)) {
      const next = this.#backlog.shift();
      if (!next) break;
      slice.push(next);
      size += next.length;
    }
    if (slice.length > 0) this.#channel?.deliver(concat(slice));
  }

  /** Bytes still to hand to noVNC (a seek in progress). */
  get backlogged(): boolean {
    return this.#backlog.length > 0;
  }

  play(): void {
    if (!this.#timeline || this.state === "failed" || this.state === "loading") return;
    if (this.state === "ended") void this.seek(0);
    this.state = "playing";
    this.#lastTick = this.#deps.now();
  }

  pause(): void {
    if (this.state === "playing") this.state = "paused";
  }

  /** Moves the clock on by the time passed since the last tick (called every frame). */
  tick(): void {
    this.#pump();
    const timeline = this.#timeline;
    if (this.state !== "playing" || !timeline) return;
    const now = this.#deps.now();
    let t = timeline.position + (now - this.#lastTick) * this.speed;
    this.#lastTick = now;
    if (this.skipIdle) {
      const skip = timeline.idleSkipTarget(timeline.position);
      if (skip !== null && skip > t) t = skip;
    }
    this.#deliver(timeline.advanceTo(Math.min(t, this.durationMs)));
    this.position = timeline.position;
    if (timeline.position >= this.durationMs) this.state = "ended";
  }

  /** Jumps to `t` ms: from the last keyframe before it when that is nearer than where the
   * viewer is (or the seek goes backwards), else by delivering what lies between; backwards
   * with no keyframe before `t`, from the start. Resolves once the viewer has what it needs. */
  async seek(t: number): Promise<void> {
    const timeline = this.#timeline;
    if (!timeline) return;
    const seek = ++this.#seeks;
    const target = Math.max(0, Math.min(t, this.durationMs));
    const key = timeline.keyframeBefore(target);
    const marker = timeline.records[key];
    if (marker && (target < timeline.position || marker.atMs > timeline.position)) {
      let bytes: Uint8Array;
      try {
        bytes = await this.#keyframe(marker);
      } catch (raw) {
        this.state = "failed";
        this.error = raw instanceof IpcError ? raw.message : raw instanceof Error ? raw.message : String(raw);
        return;
      }
      if (seek !== this.#seeks) return; // a newer seek took over
      this.#restartAt(key, bytes);
    } else if (target < timeline.position) this.#restart();
    this.#deliver(timeline.advanceTo(target));
    this.position = timeline.position;
    this.#lastTick = this.#deps.now();
    if (this.state === "ended" && target < this.durationMs) this.state = "paused";
  }

  close(): void {
    this.#rfb?.disconnect();
    this.#rfb = null;
  }
}
