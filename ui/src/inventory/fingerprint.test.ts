import { describe, expect, it } from "vitest";
import { extractFingerprint } from "./fingerprint";

const colons = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

describe("extractFingerprint", () => {
  it("finds a colon-separated fingerprint in a sentence", () => {
    expect(extractFingerprint(`The certificate is not trusted (SHA-256 ${colons}).`)).toBe(colons);
  });

  it("normalises bare lower-case hex", () => {
    expect(extractFingerprint(`sha256=${colons.replaceAll(":", "").toLowerCase()}`)).toBe(colons);
  });

  it("returns null when there is none or it is truncated", () => {
    expect(extractFingerprint("certificate expired")).toBeNull();
    expect(extractFingerprint(colons.slice(0, 50))).toBeNull();
  });
});
