import { describe, expect, it } from "vitest";
import type { UserInput } from "../lib/ipc";
import { initialValues, requestInputs, validateCount, validateInput, validateInputs } from "./userInputs";

function input(name: string, type: UserInput["type"], overrides: Partial<UserInput> = {}): UserInput {
  return { name, type, mandatory: false, description: "", min: null, max: null, options: [], default: null, ...overrides };
}

describe("validateInput", () => {
  it("refuses an empty mandatory input and lets an empty optional one pass", () => {
    expect(validateInput(input("A", "text", { mandatory: true }), "  ")).toEqual({ problem: "required" });
    expect(validateInput(input("A", "text"), "")).toBeNull();
    expect(validateInput(input("L", "list-multiple", { mandatory: true, options: ["a"] }), " , ")).toEqual({
      problem: "required",
    });
  });

  it("wants an integer in a NUMBER and any number in a NUMBER-FLOAT", () => {
    expect(validateInput(input("N", "number"), "abc")).toEqual({ problem: "notANumber" });
    expect(validateInput(input("N", "number"), "1.5")).toEqual({ problem: "notAnInteger" });
    expect(validateInput(input("N", "number"), " -4 ")).toBeNull();
    expect(validateInput(input("F", "number-float"), "1.5")).toBeNull();
    expect(validateInput(input("F", "number-float"), "1e3")).toBeNull();
    expect(validateInput(input("F", "number-float"), "1,5")).toEqual({ problem: "notANumber" });
  });

  it("keeps a RANGE within min..max", () => {
    const range = input("R", "range", { min: 1, max: 8 });
    expect(validateInput(range, "9")).toEqual({ problem: "outOfRange", min: 1, max: 8 });
    expect(validateInput(range, "0")).toEqual({ problem: "outOfRange", min: 1, max: 8 });
    expect(validateInput(range, "8")).toBeNull();
    expect(validateInput(range, "2.5")).toEqual({ problem: "notAnInteger" });
    expect(validateInput(range, "x")).toEqual({ problem: "notANumber" });
    const float = input("RF", "range-float", { min: 0.5, max: 1 });
    expect(validateInput(float, "0.75")).toBeNull();
    expect(validateInput(float, "1.25")).toEqual({ problem: "outOfRange", min: 0.5, max: 1 });
  });

  it("accepts only offered LIST values", () => {
    const list = input("L", "list", { options: ["small", "large"] });
    expect(validateInput(list, "huge")).toEqual({ problem: "notOffered", value: "huge" });
    expect(validateInput(list, "large")).toBeNull();
    const multiple = input("M", "list-multiple", { options: ["a", "b", "c"] });
    expect(validateInput(multiple, "a,c")).toBeNull();
    expect(validateInput(multiple, "a,z")).toEqual({ problem: "notOffered", value: "z" });
  });

  it("wants YES or NO in a BOOLEAN and never checks a FIXED", () => {
    expect(validateInput(input("B", "boolean"), "maybe")).toEqual({ problem: "notBoolean" });
    expect(validateInput(input("B", "boolean"), "YES")).toBeNull();
    expect(validateInput(input("X", "fixed", { mandatory: true }), "")).toBeNull();
  });
});

describe("validateInputs and requestInputs", () => {
  const inputs = [
    input("NAME", "text", { mandatory: true }),
    input("NOTE", "text"),
    input("SIZE", "range", { min: 1, max: 4, default: "2" }),
    input("ZONES", "list-multiple", { options: ["a", "b"] }),
    input("SSH", "boolean", { default: "yes" }),
    input("ROLE", "fixed", { default: "web" }),
  ];

  it("starts from the defaults, booleans as YES/NO", () => {
    expect(initialValues(inputs)).toEqual({ NAME: "", NOTE: "", SIZE: "2", ZONES: "", SSH: "YES", ROLE: "web" });
  });

  it("reports every problem by name", () => {
    expect(validateInputs(inputs, { NAME: "", SIZE: "7", ZONES: "a,q", SSH: "maybe" })).toEqual({
      NAME: { problem: "required" },
      SIZE: { problem: "outOfRange", min: 1, max: 4 },
      ZONES: { problem: "notOffered", value: "q" },
      SSH: { problem: "notBoolean" },
    });
  });

  it("sends fixed inputs as their default and leaves optional empty ones out", () => {
    expect(requestInputs(inputs, { NAME: "x", NOTE: "", SIZE: " 3 ", ZONES: "a, b", SSH: "NO", ROLE: "typed" })).toEqual({
      NAME: "x",
      SIZE: "3",
      ZONES: "a,b",
      SSH: "NO",
      ROLE: "web",
    });
  });
});

describe("validateCount", () => {
  it("wants a whole number from 1 to 100", () => {
    expect(validateCount("1")).toBeNull();
    expect(validateCount("100")).toBeNull();
    expect(validateCount("0")).toEqual({ problem: "outOfRange", min: 1, max: 100 });
    expect(validateCount("101")).toEqual({ problem: "outOfRange", min: 1, max: 100 });
    expect(validateCount("two")).toEqual({ problem: "notANumber" });
    expect(validateCount("")).toEqual({ problem: "required" });
  });
});
