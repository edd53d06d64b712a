import { describe, expect, it, vi } from "vitest";
import type RFB from "@novnc/novnc";
import type { ReplayInfo } from "../lib/ipc";
import { KIND_INIT, KIND_KEYFRAME, KIND_SERVER, type ReplayChannel } from "./player";
import { encode } from "./testdata";

vi.mock("@novnc/novnc", () => ({ default: class {} }));

const info: ReplayInfo = {
  entry: {
    id: 3, profileId: "lab", user: "carol", vmId: 7, vmName: "web-7", target: "10.0.0.5:5907",
    startedAtMs: 1_700_000_000_000, endedAtMs: 1_700_000_060_000, bytesToClient: 10, bytesToServer: 2,
    endReason: "client_closed", recorded: true, recordingAvailable: true, recordingHead: "ab",
  },
  durationMs: 60_000,
  capped: false,
  keys: [],
  clicks: [],
  notes: [],
  chunks: [
    { seq: 0, firstMs: 0, lastMs: 30_000, keyframe: false },
    { seq: 1, firstMs: 30_000, lastMs: 60_000, keyframe: true },
  ],
};

/** A replay session over fake IPC, a fake viewer that records what it was fed, and a fake clock. */
async function setup() {
  const { ReplaySession } = await import("./session.svelte");
  let now = 0;
  const viewers: number[][][] = [];
  const calls: [number, number][] = [];
  const session = new ReplaySession(
    (_target, channel: ReplayChannel) => {
      const fed: number[][] = [];
      viewers.push(fed);
      channel.onmessage = (e) => fed.push(Array.from(new Uint8Array(e.data)));
      return { disconnect() {} } as unknown as RFB;
    },
    {
      info: () => Promise.resolve(info),
      data: (from, count) => {
        calls.push([from, count]);
        return Promise.resolve(
          from === 0
            ? encode([
                { kind: KIND_INIT, atMs: 1, bytes: [0xaa] },
                { kind: KIND_SERVER, atMs: 1_000, bytes: [1] },
                { kind: KIND_SERVER, atMs: 40_000, bytes: [2] },
              ])
            : new ArrayBuffer(0),
        );
      },
      now: () => now,
    },
  );
  await session.load({} as HTMLElement);
  return { session, viewers, calls, advance: (ms: number) => (now += ms) };
}

describe("ReplaySession", () => {
  it("feeds a long seek to noVNC over several frames, at most 8 MiB each", async () => {
    const { ReplaySession } = await import("./session.svelte");
    const big = Array.from({ length: 5 }, (_, i) => ({ kind: KIND_SERVER, atMs: 1_000 + i, bytes: new Array(3 << 20).fill(i) }));
    const fed: number[] = [];
    const session = new ReplaySession(
      (_t, channel: ReplayChannel) => {
        channel.onmessage = (e) => fed.push(e.data.byteLength);
        return { disconnect() {} } as unknown as RFB;
      },
      {
        info: () => Promise.resolve(info),
        data: (from) => Promise.resolve(from === 0 ? encode([{ kind: KIND_INIT, atMs: 1, bytes: [0xaa] }, ...big]) : new ArrayBuffer(0)),
        now: () => 0,
      },
    );
    await session.load({} as HTMLElement);
    fed.length = 0;
    session.seek(10_000);
    expect(fed).toEqual([6 << 20]); // two 3 MiB updates fit, a third would not
    expect(session.backlogged).toBe(true);
    session.tick();
    session.tick();
    expect(fed).toEqual([6 << 20, 6 << 20, 3 << 20]);
    expect(session.backlogged).toBe(false);
  });

  it("loads every chunk, then plays on the recording's clock", async () => {
    const { session, viewers, calls, advance } = await setup();
    expect(calls).toEqual([[0, 16]]);
    expect(session.state).toBe("ready");
    // The handshake (a message per step) and ServerInit reach the viewer at once.
    expect(viewers[0]).toHaveLength(4);
    expect(viewers[0]?.[3]).toEqual([0xaa]);
    session.skipIdle = false;
    session.play();
    advance(500);
    session.tick();
    expect(viewers[0]).toHaveLength(4);
    advance(600);
    session.tick();
    expect(viewers[0]?.[4]).toEqual([1]);
    session.speed = 8;
    advance(5_000);
    session.tick();
    expect(viewers[0]?.[5]).toEqual([2]);
    advance(60_000);
    session.tick();
    expect(session.state).toBe("ended");
  });

  it("skips idle gaps and seeks both ways", async () => {
    const { session, viewers, advance } = await setup();
    session.play();
    advance(1_100);
    session.tick(); // 1.1 s: the first update
    advance(16);
    session.tick(); // the 39 s gap is skipped
    expect(session.position).toBeGreaterThan(39_000);
    session.seek(500); // backwards: a fresh viewer, replayed from ServerInit
    expect(viewers).toHaveLength(2);
    expect(viewers[1]).toHaveLength(4);
    session.seek(50_000); // forwards: both updates at once
    expect(viewers[1]?.[4]).toEqual([1, 2]);
  });

  it("seeks from the last keyframe before the target, fetching it then, never feeding it in order", async () => {
    const { ReplaySession } = await import("./session.svelte");
    // A keyframe: a ServerInit of 2×1 named "k" (24 + 1 bytes), then its update (here 3 bytes).
    const init = [0, 2, 0, 1, ...new Array(16).fill(0), 0, 0, 0, 1, 0x6b];
    const keyframe = (n: number) => [...init, 0xf0, 0xf1, n];
    const marker = (seq: number) => [seq, 0, 0, 0];
    const viewers: number[][][] = [];
    const fetched: number[] = [];
    let now = 0;
    const session = new ReplaySession(
      (_t, channel: ReplayChannel) => {
        const fed: number[][] = [];
        viewers.push(fed);
        channel.onmessage = (e) => fed.push(Array.from(new Uint8Array(e.data)));
        return { disconnect() {} } as unknown as RFB;
      },
      {
        info: () => Promise.resolve(info),
        data: (from, _count, keyframes) => {
          if (keyframes) {
            fetched.push(from);
            return Promise.resolve(encode([{ kind: KIND_KEYFRAME, atMs: from * 20_000, bytes: keyframe(from) }]));
          }
          return Promise.resolve(
            from === 0
              ? encode([
                  { kind: KIND_INIT, atMs: 1, bytes: [0xaa] },
                  { kind: KIND_SERVER, atMs: 1_000, bytes: [1] },
                  // Chunk 1 starts with a keyframe at 20 s; it splits a read: [2] before, [3] after.
                  { kind: KIND_SERVER, atMs: 20_000, bytes: [2] },
                  { kind: KIND_KEYFRAME, atMs: 20_000, bytes: marker(1) },
                  { kind: KIND_SERVER, atMs: 20_000, bytes: [3] },
                  { kind: KIND_KEYFRAME, atMs: 40_000, bytes: marker(2) },
                  { kind: KIND_SERVER, atMs: 45_000, bytes: [4] },
                ])
              : new ArrayBuffer(0),
          );
        },
        now: () => now,
      },
    );
    await session.load({} as HTMLElement);
    expect(fetched).toEqual([]); // none loaded up front
    // Forwards past a keyframe: a fresh viewer gets the keyframe's ServerInit, its update, then
    // only what follows it.
    await session.seek(50_000);
    expect(fetched).toEqual([2]);
    expect(viewers).toHaveLength(2);
    expect(viewers[1]?.[3]).toEqual(init);
    expect(viewers[1]?.[4]).toEqual([0xf0, 0xf1, 2, 4]);
    expect(session.position).toBe(50_000);
    // Backwards to between the keyframes: from the first, after the read it split.
    await session.seek(30_000);
    expect(viewers).toHaveLength(3);
    expect(viewers[2]?.[4]).toEqual([0xf0, 0xf1, 1, 3]);
    // Forwards with no keyframe in between: the same viewer goes on.
    await session.seek(35_000);
    expect(viewers).toHaveLength(3);
    // Again to the end: the keyframe is kept, not fetched twice.
    await session.seek(50_000);
    expect(fetched).toEqual([2, 1]);
    // Two seeks at once: the later one wins.
    const slow = session.seek(25_000);
    const fast = session.seek(5_000);
    await Promise.all([slow, fast]);
    expect(viewers).toHaveLength(5);
    expect(viewers[4]?.[3]).toEqual([0xaa]);
    expect(viewers[4]?.[4]).toEqual([1]);
    expect(session.position).toBe(5_000);
    // Played in order, keyframe markers are not fed.
    session.skipIdle = false;
    session.speed = 8;
    session.play();
    now += 10_000; // 80 s of recording at 8×
    session.tick();
    expect(viewers).toHaveLength(5);
    expect(viewers[4]?.slice(5)).toEqual([[2, 3, 4]]);
    expect(session.state).toBe("ended");
  });
});
