import { afterEach, describe, expect, it } from "vitest";
import { setLocale } from "../lib/i18n/messages";
import { formatCount, formatMemory } from "./format";

afterEach(() => {
  setLocale("en");
});

describe("formatMemory", () => {
  it("uses MiB below a GiB and GiB with at most one decimal above", () => {
    setLocale("en");
    expect(formatMemory(512)).toBe("512 MiB");
    expect(formatMemory(1024)).toBe("1 GiB");
    expect(formatMemory(1536)).toBe("1.5 GiB");
    expect(formatMemory(1_048_576)).toBe("1,024 GiB");
  });

  it("shows a dash when unknown", () => {
    expect(formatMemory(null)).toBe("—");
    expect(formatCount(null)).toBe("—");
    expect(formatCount(4)).toBe("4");
  });
});
