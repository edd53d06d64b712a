import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { TemplateSummary, UserInput, VmSummary } from "../lib/ipc";

// The IPC mocks install themselves on `window`; the unit tests run in Node, so give them one.
beforeAll(() => {
  (globalThis as { window?: unknown }).window ??= globalThis;
});

afterEach(async () => {
  const { clearMocks } = await import("@tauri-apps/api/mocks");
  clearMocks();
});

function input(name: string, type: UserInput["type"], overrides: Partial<UserInput> = {}): UserInput {
  return { name, type, mandatory: false, description: "", min: null, max: null, options: [], default: null, ...overrides };
}

const template: TemplateSummary = {
  id: 7,
  name: "web",
  owner: "oneadmin",
  group: "oneadmin",
  cpu: 1,
  vcpu: 2,
  memoryMib: 2048,
  description: null,
  userInputs: [
    input("SIZE", "range", { min: 1, max: 4, default: "2", mandatory: true }),
    input("ROLE", "fixed", { default: "front" }),
    input("NOTE", "text"),
  ],
};

async function setup(answers: Record<string, unknown>) {
  const { mockIPC } = await import("@tauri-apps/api/mocks");
  const calls: { cmd: string; args: unknown }[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args });
    const answer = answers[cmd];
    if (answer && typeof answer === "object" && "reject" in answer) throw (answer as { reject: unknown }).reject;
    return answer;
  });
  const { CreateVmState } = await import("./createVm.svelte");
  const created: { ids: number[]; placeholders: VmSummary[] }[] = [];
  const state = new CreateVmState({
    profileId: () => "p",
    created: (ids, placeholders) => created.push({ ids, placeholders }),
  });
  await state.start();
  return { state, calls, created };
}

describe("CreateVmState", () => {
  it("loads the templates and fills the chosen one's defaults", async () => {
    const { state } = await setup({ template_list: [template] });
    expect(state.open).toBe(true);
    expect(state.templates).toEqual([template]);
    state.choose(template);
    expect(state.values).toEqual({ SIZE: "2", ROLE: "front", NOTE: "" });
  });

  it("sends nothing while a field is wrong, and marks it", async () => {
    const { state, calls } = await setup({ template_list: [template], vm_create: { ids: [1] } });
    state.choose(template);
    state.setValue("SIZE", "9");
    state.setCount("0");
    expect(await state.submit()).toBe(false);
    expect(state.problems).toEqual({ SIZE: { problem: "outOfRange", min: 1, max: 4 } });
    expect(state.countProblem).toEqual({ problem: "outOfRange", min: 1, max: 100 });
    expect(calls.map((c) => c.cmd)).toEqual(["template_list"]);
    state.setValue("SIZE", "3");
    expect(state.problems).toEqual({});
  });

  it("sends the request, then lists the new VMs as pending placeholders", async () => {
    const { state, calls, created } = await setup({ template_list: [template], vm_create: { ids: [40, 41] } });
    state.choose(template);
    state.setName("web-%i");
    state.setCount("2");
    state.hold = true;
    expect(await state.submit()).toBe(true);
    expect(calls[1]).toEqual({
      cmd: "vm_create",
      args: {
        id: "p",
        request: { templateId: 7, name: "web-%i", count: 2, hold: true, inputs: { SIZE: "2", ROLE: "front" } },
      },
    });
    expect(created[0]?.ids).toEqual([40, 41]);
    expect(created[0]?.placeholders.map((vm) => [vm.id, vm.name, vm.state])).toEqual([
      [40, "web-0", "PENDING"],
      [41, "web-1", "PENDING"],
    ]);
    expect(state.open).toBe(false);
  });

  it("keeps the dialog and what was typed when the shell refuses, marking the field it names", async () => {
    const { state } = await setup({
      template_list: [template],
      vm_create: { reject: { kind: "invalidInput", message: "m", params: { field: "SIZE", problem: "outOfRange", min: 1, max: 3 } } },
    });
    state.choose(template);
    state.setValue("NOTE", "typed");
    expect(await state.submit()).toBe(false);
    expect(state.open).toBe(true);
    expect(state.values.NOTE).toBe("typed");
    expect(state.error?.kind).toBe("invalidInput");
    expect(state.problems.SIZE).toEqual({ problem: "outOfRange", min: 1, max: 3 });
  });
});

describe("templates and placeholder names", () => {
  it("filters templates by name, id or owner", async () => {
    const { filterTemplates } = await import("./createVm.svelte");
    const other = { ...template, id: 12, name: "db", owner: "alice" };
    expect(filterTemplates([template, other], "ALICE").map((t) => t.id)).toEqual([12]);
    expect(filterTemplates([template, other], "7").map((t) => t.id)).toEqual([7]);
    expect(filterTemplates([template, other], " ")).toHaveLength(2);
  });

  it("names new VMs the way the request asks", async () => {
    const { placeholderNames } = await import("./createVm.svelte");
    expect(placeholderNames(template, "db-%i", 2)).toEqual(["db-0", "db-1"]);
    expect(placeholderNames(template, "db", 2)).toEqual(["db-0", "db-1"]);
    expect(placeholderNames(template, "db", 1)).toEqual(["db"]);
    expect(placeholderNames(template, "", 1)).toEqual(["web (new)"]);
  });
});
