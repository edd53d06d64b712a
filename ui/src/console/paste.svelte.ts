// "Paste as keystrokes": a text (typed into the box or taken from the clipboard) is planned by
// the app for the guest's keyboard layout (what it cannot type is listed first), then sent as
// key events a character at a time at the chosen pace, with progress and cancel.
import { consoleTypingPlan, IpcError } from "../lib/ipc";
import type { KeyStep, TypingPlan } from "../lib/ipc-types";

/** Paces offered, characters per second (100 by default: what a slow guest, such as a BIOS
 * prompt, still takes in). */
export const RATES = [1000, 100, 30, 10] as const;
/** Characters go out in batches about this far apart (browsers stretch shorter timers). */
const TICK_MS = 20;

/** Injected for tests: the plan call, the sender of one event, and the timer. */
export interface PasteDeps {
  plan: (text: string, layout: string) => Promise<TypingPlan>;
  send: (step: KeyStep) => void;
  wait: (ms: number) => Promise<void>;
}

export type PasteState = "editing" | "checking" | "blocked" | "sending" | "done" | "cancelled" | "failed";

export class PasteJob {
  text = $state("");
  layout = $state("us");
  rate = $state<number>(100);
  state = $state<PasteState>("editing");
  /** Characters the layout cannot type (from the last check). */
  untypable = $state<{ index: number; text: string }[]>([]);
  sent = $state(0);
  total = $state(0);
  error = $state<string | null>(null);

  #run = 0;
  readonly #deps: PasteDeps;

  constructor(deps: PasteDeps) {
    this.#deps = deps;
  }

  /** Plans the text, then (if every character can be typed) sends it; resolves when done,
   * cancelled or refused. */
  async send(): Promise<void> {
    if (this.state === "sending" || this.state === "checking") return;
    const run = ++this.#run;
    this.state = "checking";
    this.error = null;
    this.sent = 0;
    let plan: TypingPlan;
    try {
      plan = await this.#deps.plan(this.text, this.layout);
    } catch (raw) {
      if (run !== this.#run) return;
      this.state = "failed";
      this.error = IpcError.from("console_typing_plan", raw).message;
      return;
    }
    if (run !== this.#run) return;
    this.untypable = plan.untypable;
    if (plan.untypable.length > 0) {
      // Nothing is sent while a character cannot be typed: the user edits or picks a layout.
      this.state = "blocked";
      return;
    }
    this.total = plan.chars.length;
    this.state = "sending";
    // At most one batch per tick: at 1000 characters/s, 20 characters every 20 ms.
    const batch = Math.max(1, Math.floor((this.rate * TICK_MS) / 1000));
    const gap = (batch * 1000) / this.rate;
    for (const steps of plan.chars) {
      if (run !== this.#run) return;
      for (const step of steps) this.#deps.send(step);
      this.sent += 1;
      if (this.sent < this.total && this.sent % batch === 0) await this.#deps.wait(gap);
    }
    if (run === this.#run) this.state = "done";
  }

  /** Stops between two characters (never inside one: no key is left held). */
  cancel(): void {
    if (this.state !== "sending" && this.state !== "checking") return;
    this.#run += 1;
    this.state = "cancelled";
  }

  /** Back to editing after a result. */
  edit(): void {
    if (this.state === "sending" || this.state === "checking") return;
    this.state = "editing";
    this.untypable = [];
  }
}

/** The plan call over IPC. */
export const ipcPlan = consoleTypingPlan;
