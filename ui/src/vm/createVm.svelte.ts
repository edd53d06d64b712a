// The create dialog: the templates the user may instantiate, the chosen one's USER_INPUTS as
// values, and the request. Everything is validated before the call (userInputs.ts) so a bad value
// is explained next to its field and never sent; a refused request keeps the dialog and what the
// user typed. New VMs show in the inventory at once as PENDING rows that `vm-changed` moves on.
import type { ProblemShape } from "../lib/errorText";
import { t } from "../lib/i18n/messages";
import {
  IpcError,
  templateList,
  vmCreate,
  type CreateRequest,
  type TemplateSummary,
  type VmSummary,
} from "../lib/ipc";
import { initialValues, requestInputs, validateCount, validateInputs } from "./userInputs";

/** Where created VMs go: the inventory's placeholder rows and the pending marks. */
export interface CreateSink {
  profileId(): string | null;
  created(ids: number[], placeholders: VmSummary[]): void;
}

/** Templates matching every whitespace-separated term in their name, id or owner. */
export function filterTemplates(templates: readonly TemplateSummary[], query: string): TemplateSummary[] {
  const terms = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (terms.length === 0) return [...templates];
  return templates.filter((tpl) => {
    const text = [String(tpl.id), tpl.name, tpl.owner].join("\n").toLowerCase();
    return terms.every((term) => text.includes(term));
  });
}

/**
 * The names the new VMs will likely get, for their rows until the first event brings the real
 * ones: %i replaced by the index, "-<index>" added for several VMs, the template's name when empty.
 */
export function placeholderNames(template: TemplateSummary, name: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => {
    if (name === "") return t("inventory_placeholder_name", { template: template.name });
    if (name.includes("%i")) return name.replaceAll("%i", String(index));
    return count > 1 ? `${name}-${index}` : name;
  });
}

/** The create dialog's state. */
export class CreateVmState {
  open = $state(false);
  templates = $state.raw<TemplateSummary[] | null>(null);
  loadError = $state<IpcError | null>(null);
  filter = $state("");
  shown = $derived(filterTemplates(this.templates ?? [], this.filter));
  template = $state.raw<TemplateSummary | null>(null);
  name = $state("");
  count = $state("1");
  hold = $state(false);
  /** USER_INPUTS values as they will be sent, keyed by input name. */
  values = $state<Record<string, string>>({});
  /** Problems of the USER_INPUTS, keyed by input name. */
  problems = $state<Record<string, ProblemShape>>({});
  nameProblem = $state<ProblemShape | null>(null);
  countProblem = $state<ProblemShape | null>(null);
  submitting = $state(false);
  error = $state<IpcError | null>(null);

  readonly #sink: CreateSink;
  #generation = 0;

  constructor(sink: CreateSink) {
    this.#sink = sink;
  }

  /** True when some field is marked. */
  get invalid(): boolean {
    return Object.keys(this.problems).length > 0 || this.nameProblem !== null || this.countProblem !== null;
  }

  /** Opens the dialog and loads the templates. */
  async start(): Promise<void> {
    const profileId = this.#sink.profileId();
    if (profileId === null) return;
    const generation = ++this.#generation;
    this.open = true;
    this.templates = null;
    this.loadError = null;
    this.filter = "";
    this.name = "";
    this.count = "1";
    this.hold = false;
    this.#reset(null);
    try {
      const templates = await templateList({ id: profileId });
      if (generation === this.#generation) this.templates = templates;
    } catch (raw) {
      if (generation === this.#generation) this.loadError = IpcError.from("template_list", raw);
    }
  }

  /** Chooses a template (null goes back to the list): its inputs start from their defaults. */
  choose(template: TemplateSummary | null): void {
    this.#reset(template);
  }

  /** Sets one input's value and clears its mark. */
  setValue(name: string, value: string): void {
    this.values[name] = value;
    if (name in this.problems) {
      const { [name]: _dropped, ...rest } = this.problems;
      void _dropped;
      this.problems = rest;
    }
  }

  /** Sets the VM name and clears its mark. */
  setName(name: string): void {
    this.name = name;
    this.nameProblem = null;
  }

  /** Sets the typed count and clears its mark. */
  setCount(count: string): void {
    this.count = count;
    this.countProblem = null;
  }

  /** Closes the dialog; an answer still on its way is dropped. */
  close(): void {
    this.#generation += 1;
    this.open = false;
    this.submitting = false;
  }

  /** The request the form describes now. */
  request(): CreateRequest | null {
    const template = this.template;
    if (template === null) return null;
    return {
      templateId: template.id,
      name: this.name.trim(),
      count: Number(this.count.trim()),
      hold: this.hold,
      inputs: requestInputs(template.userInputs, this.values),
    };
  }

  /** Checks the form; true when the request may be sent. */
  validate(): boolean {
    const template = this.template;
    if (template === null) return false;
    this.problems = validateInputs(template.userInputs, this.values);
    this.countProblem = validateCount(this.count);
    this.nameProblem = null;
    return !this.invalid;
  }

  /** Validates and sends the request; true when the VMs were created and the dialog closed. */
  async submit(): Promise<boolean> {
    const profileId = this.#sink.profileId();
    const template = this.template;
    if (this.submitting || profileId === null || template === null) return false;
    this.error = null;
    if (!this.validate()) return false;
    const request = this.request();
    if (request === null) return false;
    const generation = this.#generation;
    this.submitting = true;
    try {
      const { ids } = await vmCreate({ id: profileId, request });
      if (generation !== this.#generation) return false;
      const names = placeholderNames(template, request.name, ids.length);
      this.#sink.created(
        ids,
        ids.map((id, index) => placeholder(id, names[index] ?? template.name, template)),
      );
      this.close();
      return true;
    } catch (raw) {
      if (generation !== this.#generation) return false;
      this.error = IpcError.from("vm_create", raw);
      this.#markField(this.error);
      return false;
    } finally {
      if (generation === this.#generation) this.submitting = false;
    }
  }

  /** Puts the shell's `invalidInput` next to the field it names. */
  #markField(error: IpcError): void {
    const field = error.text("field");
    const problem = error.text("problem");
    if (error.kind !== "invalidInput" || field === null || problem === null) return;
    const value = error.text("value");
    const shape: ProblemShape = {
      problem,
      min: error.number("min"),
      max: error.number("max"),
      ...(value === null ? {} : { value }),
    };
    if (field === "name") this.nameProblem = shape;
    else if (field === "count") this.countProblem = shape;
    else if (this.template?.userInputs.some((input) => input.name === field)) {
      this.problems = { ...this.problems, [field]: shape };
    }
  }

  #reset(template: TemplateSummary | null): void {
    this.template = template;
    this.values = template ? initialValues(template.userInputs) : {};
    this.problems = {};
    this.nameProblem = null;
    this.countProblem = null;
    this.error = null;
  }
}

function placeholder(id: number, name: string, template: TemplateSummary): VmSummary {
  return {
    id,
    name,
    // The owner is whoever signed in, which the first `vm-changed` event tells.
    owner: "",
    group: "",
    state: "PENDING",
    stateClass: "pending",
    host: null,
    ips: [],
    vcpu: template.vcpu,
    memoryMib: template.memoryMib,
    console: false,
    spice: false,
  };
}
