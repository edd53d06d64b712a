// The create dialog's rules for a template's USER_INPUTS, the same ones core applies (docs/IPC.md,
// "Validation rules of inputs"), so that a bad value is explained next to its field and never
// reaches the endpoint. Every value is kept as the string that will be sent: booleans "YES"/"NO",
// list-multiple comma-joined.
import type { UserInput } from "../lib/ipc";

/** Why a value is refused; the same codes as the shell's `invalidInput` `problem` param. */
export type InputProblem =
  | { problem: "required" }
  | { problem: "notANumber" }
  | { problem: "notAnInteger" }
  | { problem: "outOfRange"; min: number | null; max: number | null }
  | { problem: "notOffered"; value: string }
  | { problem: "notBoolean" };

/** The fewest and most VMs one create request may ask for. */
export const countLimits = { min: 1, max: 100 } as const;

const integer = /^[+-]?\d+$/;
const decimal = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Splits a list-multiple value into its items (empty items dropped). */
export function splitMultiple(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** The value a field starts with: the template's default, "NO" for a boolean without one. */
export function initialValue(input: UserInput): string {
  const value = input.default ?? "";
  if (input.type === "boolean") return value.trim().toUpperCase() === "YES" ? "YES" : "NO";
  return value;
}

/** Every input's starting value, keyed by name. */
export function initialValues(inputs: readonly UserInput[]): Record<string, string> {
  return Object.fromEntries(inputs.map((input) => [input.name, initialValue(input)]));
}

function isEmpty(input: UserInput, value: string): boolean {
  return input.type === "list-multiple" ? splitMultiple(value).length === 0 : value.trim() === "";
}

function checkNumber(value: string, whole: boolean): InputProblem | null {
  const text = value.trim();
  if (whole) {
    if (integer.test(text)) return null;
    return decimal.test(text) ? { problem: "notAnInteger" } : { problem: "notANumber" };
  }
  return decimal.test(text) ? null : { problem: "notANumber" };
}

function checkRange(input: UserInput, value: string, whole: boolean): InputProblem | null {
  const notNumber = checkNumber(value, whole);
  if (notNumber) return notNumber;
  const n = Number(value.trim());
  if ((input.min !== null && n < input.min) || (input.max !== null && n > input.max)) {
    return { problem: "outOfRange", min: input.min, max: input.max };
  }
  return null;
}

/** What is wrong with `value` for `input`, or null when it may be sent. */
export function validateInput(input: UserInput, value: string): InputProblem | null {
  // A fixed input is sent as the template's default: there is nothing the user could get wrong.
  if (input.type === "fixed") return null;
  if (isEmpty(input, value)) return input.mandatory ? { problem: "required" } : null;
  switch (input.type) {
    case "number":
      return checkNumber(value, true);
    case "number-float":
      return checkNumber(value, false);
    case "range":
      return checkRange(input, value, true);
    case "range-float":
      return checkRange(input, value, false);
    case "list":
      return input.options.includes(value) ? null : { problem: "notOffered", value };
    case "list-multiple": {
      const stray = splitMultiple(value).find((item) => !input.options.includes(item));
      return stray === undefined ? null : { problem: "notOffered", value: stray };
    }
    case "boolean":
      return value === "YES" || value === "NO" ? null : { problem: "notBoolean" };
    default:
      return null;
  }
}

/** The problems of every input, keyed by name; empty when all may be sent. */
export function validateInputs(
  inputs: readonly UserInput[],
  values: Readonly<Record<string, string>>,
): Record<string, InputProblem> {
  const problems: Record<string, InputProblem> = {};
  for (const input of inputs) {
    const problem = validateInput(input, values[input.name] ?? "");
    if (problem) problems[input.name] = problem;
  }
  return problems;
}

/** What the request's `inputs` carries: fixed inputs as their default, optional empty ones left out. */
export function requestInputs(
  inputs: readonly UserInput[],
  values: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const input of inputs) {
    const value = input.type === "fixed" ? (input.default ?? "") : (values[input.name] ?? "");
    if (isEmpty(input, value)) continue;
    const numeric = input.type.startsWith("number") || input.type.startsWith("range");
    out[input.name] = input.type === "list-multiple" ? splitMultiple(value).join(",") : numeric ? value.trim() : value;
  }
  return out;
}

/** What is wrong with the typed VM count, or null for a whole number in 1..100. */
export function validateCount(text: string): InputProblem | null {
  const value = text.trim();
  if (value === "") return { problem: "required" };
  const problem = checkNumber(value, true);
  if (problem) return problem;
  const n = Number(value);
  if (n < countLimits.min || n > countLimits.max) {
    return { problem: "outOfRange", min: countLimits.min, max: countLimits.max };
  }
  return null;
}
