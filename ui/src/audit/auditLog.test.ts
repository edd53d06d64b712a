import { describe, expect, it } from "vitest";
import { emptyFilters, toQuery } from "./auditLog.svelte";

describe("audit filters", () => {
  it("leave out what is empty", () => {
    expect(toQuery(emptyFilters())).toEqual({});
  });

  it("turn typed fields into the app's query", () => {
    const q = toQuery({ profileId: "lab", vmId: " 42 ", user: " carol ", since: "2026-12-01", until: "2026-12-01", typed: "sudo" });
    expect(q.profileId).toBe("lab");
    expect(q.vmId).toBe(42);
    expect(q.user).toBe("carol");
    expect(q.typed).toBe("sudo");
    expect((q.untilMs ?? 0) - (q.sinceMs ?? 0)).toBe(86_400_000);
  });

  it("refuse a VM id that is not one", () => {
    expect(() => toQuery({ ...emptyFilters(), vmId: "web" })).toThrow(/not a VM id/);
    expect(() => toQuery({ ...emptyFilters(), vmId: "-1" })).toThrow(/not a VM id/);
  });
});
