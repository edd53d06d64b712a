import { describe, expect, it } from "vitest";
import { inventoryPolling, nextDelay } from "./backoff";

describe("nextDelay", () => {
  it("polls at the normal period while the endpoint answers", () => {
    expect(nextDelay(0)).toBe(15_000);
    expect(nextDelay(-1)).toBe(15_000);
    expect(nextDelay(Number.NaN)).toBe(15_000);
  });

  it("doubles after each failure up to the cap", () => {
    expect([1, 2, 3, 4, 5, 6, 50, 10_000].map((n) => nextDelay(n))).toEqual([
      30_000, 60_000, 120_000, 240_000, 300_000, 300_000, 300_000, 300_000,
    ]);
    expect(nextDelay(2, { periodMs: 1_000, maxMs: 3_000 })).toBe(3_000);
    expect(inventoryPolling.periodMs).toBe(15_000);
  });
});
