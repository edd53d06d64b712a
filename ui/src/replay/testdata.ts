// Test helpers of the replay window (not imported by the app).

/** Encodes records as `replay_data` does. */
export function encode(records: { kind: number; atMs: number; bytes: number[] }[]): ArrayBuffer {
  const total = records.reduce((n, r) => n + 9 + r.bytes.length, 0);
  const buf = new ArrayBuffer(total);
  const view = new DataView(buf);
  let at = 0;
  for (const r of records) {
    view.setUint8(at, r.kind);
    view.setUint32(at + 1, r.atMs, true);
    view.setUint32(at + 5, r.bytes.length, true);
    new Uint8Array(buf, at + 9, r.bytes.length).set(r.bytes);
    at += 9 + r.bytes.length;
  }
  return buf;
}

