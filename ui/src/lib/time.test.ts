import { describe, expect, it } from "vitest";
import { relativeTime } from "./time";

const now = Date.UTC(2026, 10, 25, 12, 0, 0);

describe("relativeTime", () => {
  it("says now for a few seconds either way", () => {
    expect(relativeTime(now - 3_000, now, "en")).toBe("now");
    expect(relativeTime(now + 2_000, now, "en")).toBe("now");
  });

  it("picks the largest whole unit", () => {
    expect(relativeTime(now - 42_000, now, "en")).toBe("42 seconds ago");
    expect(relativeTime(now - 5 * 60_000, now, "en")).toBe("5 minutes ago");
    expect(relativeTime(now - 3 * 3_600_000 - 60_000, now, "en")).toBe("3 hours ago");
    expect(relativeTime(now - 86_400_000, now, "en")).toBe("yesterday");
    expect(relativeTime(now - 10 * 86_400_000, now, "en")).toBe("10 days ago");
  });

  it("uses the locale's words", () => {
    expect(relativeTime(now - 5 * 60_000, now, "zh-CN")).toBe("5分钟前");
  });
});
