import { describe, expect, it } from "vitest";
import { IDLE_GAP_MS, KIND_INIT, KIND_SERVER, ReplayChannel, Timeline, parseScreenRecords, syntheticHandshake } from "./player";
import { formatClock } from "./clock";
import { encode } from "./testdata";

describe("replay data", () => {
  it("parses records and refuses a cut one", () => {
    const buf = encode([
      { kind: KIND_INIT, atMs: 5, bytes: [1, 2, 3] },
      { kind: KIND_SERVER, atMs: 70_000, bytes: [9] },
    ]);
    const records = parseScreenRecords(buf);
    expect(records.map((r) => [r.kind, r.atMs, Array.from(r.bytes)])).toEqual([
      [KIND_INIT, 5, [1, 2, 3]],
      [KIND_SERVER, 70_000, [9]],
    ]);
    expect(() => parseScreenRecords(buf.slice(0, buf.byteLength - 1))).toThrow(/cut/);
    expect(() => parseScreenRecords(buf.slice(0, 3))).toThrow(/header/);
    expect(parseScreenRecords(new ArrayBuffer(0))).toEqual([]);
  });

  it("starts noVNC with a no-security 3.8 handshake", () => {
    const [version, types, result] = syntheticHandshake();
    expect(new TextDecoder().decode(version)).toBe("RFB 003.008\n");
    expect(Array.from(types ?? [])).toEqual([1, 1]);
    expect(Array.from(result ?? [])).toEqual([0, 0, 0, 0]);
  });

  it("a channel hands copies to noVNC and goes quiet once closed", () => {
    const ch = new ReplayChannel();
    const got: number[][] = [];
    ch.onmessage = (e) => got.push(Array.from(new Uint8Array(e.data)));
    let closed = 0;
    ch.onclose = () => closed++;
    ch.send(); // what noVNC sends goes nowhere
    ch.deliver(new Uint8Array([7, 8]));
    ch.close();
    ch.close();
    ch.deliver(new Uint8Array([9]));
    expect(got).toEqual([[7, 8]]);
    expect(closed).toBe(1);
  });
});

describe("timeline", () => {
  const rec = (atMs: number) => ({ kind: KIND_SERVER, atMs, bytes: new Uint8Array([atMs % 256]) });

  it("delivers what is due, in order, and skips idle gaps", () => {
    const tl = new Timeline([rec(0), rec(100), rec(10_000), rec(10_050)], 12_000);
    expect(tl.advanceTo(150).map((r) => r.atMs)).toEqual([0, 100]);
    expect(tl.idleSkipTarget(150)).toBe(10_000 - 200);
    expect(tl.advanceTo(9_000)).toEqual([]);
    expect(tl.idleSkipTarget(9_000)).toBeNull(); // under IDLE_GAP_MS to go
    expect(10_000 - 9_000).toBeLessThan(IDLE_GAP_MS);
    expect(tl.advanceTo(20_000).map((r) => r.atMs)).toEqual([10_000, 10_050]);
    expect(tl.position).toBe(12_000);
    expect(tl.finished).toBe(true);
    tl.rewind();
    expect(tl.position).toBe(0);
    expect(tl.advanceTo(0).map((r) => r.atMs)).toEqual([0]);
  });

  it("formats the clock", () => {
    expect(formatClock(0)).toBe("0:00");
    expect(formatClock(61_500)).toBe("1:01");
    expect(formatClock(3_723_000)).toBe("1:02:03");
  });
});
