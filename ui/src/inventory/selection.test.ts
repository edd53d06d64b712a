import { describe, expect, it } from "vitest";
import { VmSelection } from "./selection.svelte";

const order = [3, 7, 12, 20];

describe("VmSelection", () => {
  it("toggles rows and extends a range from the last toggled one", () => {
    const s = new VmSelection();
    s.toggle(7);
    expect([...s.selected]).toEqual([7]);
    s.extendTo(order, 20);
    expect([...s.selected].sort((a, b) => a - b)).toEqual([7, 12, 20]);
    expect(s.focused).toBe(20);
    s.toggle(12);
    expect(s.has(12)).toBe(false);
    s.extendTo(order, 3);
    expect([...s.selected].sort((a, b) => a - b)).toEqual([3, 7, 12, 20]);
  });

  it("starts a range with a plain toggle when there is no anchor", () => {
    const s = new VmSelection();
    s.extendTo(order, 12);
    expect([...s.selected]).toEqual([12]);
  });

  it("moves the focus within the shown rows and stops at the ends", () => {
    const s = new VmSelection();
    expect(s.move(order, 1)).toBe(3);
    expect(s.move(order, 1)).toBe(7);
    expect(s.move(order, -5)).toBe(3);
    expect(s.move(order, "last")).toBe(20);
    expect(s.move(order, 1)).toBe(20);
    expect(s.move([], 1)).toBeNull();
  });

  it("drops VMs that are gone and clears everything on demand", () => {
    const s = new VmSelection();
    s.setAll(order, true);
    s.focused = 12;
    s.retain(new Set([3, 7]));
    expect([...s.selected]).toEqual([3, 7]);
    expect(s.focused).toBeNull();
    s.setAll([3], false);
    expect([...s.selected]).toEqual([7]);
    s.clear();
    expect(s.selected.size).toBe(0);
  });
});
