import { describe, expect, it } from "vitest";
import { usableLanguage } from "./uplotLoader";

describe("usableLanguage", () => {
  it("keeps a tag Intl accepts", () => {
    expect(usableLanguage("zh-CN")).toBe("zh-CN");
    expect(usableLanguage("en-GB")).toBe("en-GB");
  });

  it("replaces the POSIX locale WebKitGTK reports without LANG, and nothing", () => {
    expect(() => new Intl.NumberFormat("C")).toThrow(RangeError);
    expect(usableLanguage("C")).toBe("en-US");
    expect(usableLanguage(undefined)).toBe("en-US");
    expect(usableLanguage("")).toBe("en-US");
  });
});
