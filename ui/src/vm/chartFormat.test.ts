import { afterEach, describe, expect, it } from "vitest";
import { setLocale } from "../lib/i18n/messages";
import { formatPercent, formatRate } from "./chartFormat";

afterEach(() => {
  setLocale("en");
});

describe("chart numbers", () => {
  it("scales rates to the largest unit they reach", () => {
    setLocale("en");
    expect(formatRate(512)).toBe("512 byte/s");
    expect(formatRate(1500)).toBe("1.5 kB/s");
    expect(formatRate(2_000_000)).toBe("2 MB/s");
    expect(formatRate(3.25e9)).toBe("3.3 GB/s");
  });

  it("writes CPU use as a percentage of one core", () => {
    setLocale("en");
    expect(formatPercent(150)).toBe("150%");
    expect(formatPercent(12.34)).toBe("12.3%");
  });
});
