// The resize dialog's rules: CPU a positive number, vCPU and memory positive whole numbers; an
// empty or unchanged field is sent as null (oned keeps it), and at least one must change.
import type { ProblemShape } from "../lib/errorText";
import type { Capacity } from "../lib/ipc";

/** The three fields as typed. */
export interface ResizeFields {
  cpu: string;
  vcpu: string;
  memoryMib: string;
}

/** The capacity to send, or the problems by field (`nothing` when no value changed). */
export type ResizeOutcome =
  | { ok: true; capacity: Capacity }
  | { ok: false; problems: Partial<Record<keyof ResizeFields, ProblemShape>>; nothing: boolean };

function parse(text: string, whole: boolean): { value: number | null; problem: ProblemShape | null } {
  const value = text.trim();
  if (value === "") return { value: null, problem: null };
  const pattern = whole ? /^\d+$/ : /^(\d+\.?\d*|\.\d+)$/;
  if (!pattern.test(value)) {
    const problem = whole && /^(\d+\.?\d*|\.\d+)$/.test(value) ? "notAnInteger" : "notANumber";
    return { value: null, problem: { problem } };
  }
  const n = Number(value);
  if (n <= 0) return { value: null, problem: { problem: "outOfRange", min: whole ? 1 : null, max: null } };
  return { value: n, problem: null };
}

/** The fields' starting text: the VM's current values. */
export function resizeFields(current: Capacity): ResizeFields {
  const text = (n: number | null) => (n === null ? "" : String(n));
  return { cpu: text(current.cpu), vcpu: text(current.vcpu), memoryMib: text(current.memoryMib) };
}

/** Checks the typed fields against the current capacity. */
export function resizeCapacity(current: Capacity, typed: ResizeFields): ResizeOutcome {
  const cpu = parse(typed.cpu, false);
  const vcpu = parse(typed.vcpu, true);
  const memoryMib = parse(typed.memoryMib, true);
  const problems: Partial<Record<keyof ResizeFields, ProblemShape>> = {};
  if (cpu.problem) problems.cpu = cpu.problem;
  if (vcpu.problem) problems.vcpu = vcpu.problem;
  if (memoryMib.problem) problems.memoryMib = memoryMib.problem;
  if (Object.keys(problems).length > 0) return { ok: false, problems, nothing: false };
  const changed = (value: number | null, was: number | null) => (value === null || value === was ? null : value);
  const capacity: Capacity = {
    cpu: changed(cpu.value, current.cpu),
    vcpu: changed(vcpu.value, current.vcpu),
    memoryMib: changed(memoryMib.value, current.memoryMib),
  };
  if (capacity.cpu === null && capacity.vcpu === null && capacity.memoryMib === null) {
    return { ok: false, problems: {}, nothing: true };
  }
  return { ok: true, capacity };
}
