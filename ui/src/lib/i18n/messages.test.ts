import { afterEach, describe, expect, it } from "vitest";
import { locales, missingKeys, pickLocale, setLocale, t } from "./messages";

afterEach(() => {
  setLocale("en");
});

describe("messages", () => {
  it("has every source key in every catalogue", () => {
    for (const locale of locales) {
      expect(missingKeys(locale), `catalogue ${locale}`).toEqual([]);
    }
  });

  it("formats ICU plurals instead of concatenating", () => {
    setLocale("en");
    expect(t("inventory_count", { count: 0 })).toBe("No VMs");
    expect(t("inventory_count", { count: 1 })).toBe("1 VM");
    expect(t("inventory_count", { count: 1200 })).toBe("1,200 VMs");
  });

  it("substitutes named values", () => {
    setLocale("en");
    expect(t("status_version", { version: "0.1.0", platform: "linux" })).toBe("OneDeck 0.1.0 on linux");
  });

  it("picks the closest locale and falls back to English", () => {
    expect(pickLocale("zh-CN")).toBe("zh-CN");
    expect(pickLocale("zh-TW")).toBe("zh-CN");
    expect(pickLocale("de-DE")).toBe("en");
    expect(pickLocale(undefined)).toBe("en");
    setLocale("zh-CN");
    expect(t("status_offline")).toBe("未连接");
  });
});
