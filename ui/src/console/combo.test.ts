import { describe, expect, it } from "vitest";
import { comboLabel, comboSteps } from "./combo";

describe("combo", () => {
  it("holds modifiers in order around the key and names it", () => {
    const keys = [0xffe3, 0xffe9, 0xffc4]; // Ctrl+Alt+F7
    expect(comboLabel(keys)).toBe("Ctrl+Alt+F7");
    expect(comboSteps(keys).map((s) => `${s.down ? "+" : "-"}${s.keysym.toString(16)}`)).toEqual([
      "+ffe3",
      "+ffe9",
      "+ffc4",
      "-ffc4",
      "-ffe9",
      "-ffe3",
    ]);
    expect(comboSteps([])).toEqual([]);
    expect(comboLabel([0xffeb, 0x6c])).toBe("Super+L");
  });
});
