import { describe, expect, it } from "vitest";
import { resizeCapacity, resizeFields } from "./resize";

const current = { cpu: 1, vcpu: 2, memoryMib: 2048 };

describe("resizeCapacity", () => {
  it("starts from the current values and sends only what changed", () => {
    const fields = resizeFields(current);
    expect(fields).toEqual({ cpu: "1", vcpu: "2", memoryMib: "2048" });
    expect(resizeCapacity(current, { ...fields, memoryMib: "4096" })).toEqual({
      ok: true,
      capacity: { cpu: null, vcpu: null, memoryMib: 4096 },
    });
    expect(resizeCapacity(current, { cpu: "0.5", vcpu: "4", memoryMib: "" })).toEqual({
      ok: true,
      capacity: { cpu: 0.5, vcpu: 4, memoryMib: null },
    });
  });

  it("wants at least one change", () => {
    expect(resizeCapacity(current, resizeFields(current))).toEqual({ ok: false, problems: {}, nothing: true });
  });

  it("refuses non-numbers, fractions of a vCPU and zero", () => {
    expect(resizeCapacity(current, { cpu: "fast", vcpu: "1.5", memoryMib: "0" })).toEqual({
      ok: false,
      nothing: false,
      problems: {
        cpu: { problem: "notANumber" },
        vcpu: { problem: "notAnInteger" },
        memoryMib: { problem: "outOfRange", min: 1, max: null },
      },
    });
  });
});
