import { describe, expect, it } from "vitest";
import type { KeyStep, TypingPlan } from "../lib/ipc-types";
import { PasteJob } from "./paste.svelte";

const step = (keysym: number, down: boolean): KeyStep => ({ keysym, down });
const plan = (text: string, untypable: TypingPlan["untypable"] = []): TypingPlan => ({
  layout: "us",
  chars: [...text].map((c) => [step(c.charCodeAt(0), true), step(c.charCodeAt(0), false)]),
  untypable,
});

function job(result: TypingPlan | Error, onWait: (n: number) => void = () => {}) {
  const sent: KeyStep[] = [];
  const waits: number[] = [];
  const p = new PasteJob({
    plan: () => (result instanceof Error ? Promise.reject(result) : Promise.resolve(result)),
    send: (s) => sent.push(s),
    wait: (ms) => {
      waits.push(ms);
      onWait(waits.length);
      return Promise.resolve();
    },
  });
  return { p, sent, waits };
}

describe("PasteJob", () => {
  it("sends every character's events in order at the chosen pace", async () => {
    const { p, sent, waits } = job(plan("abc"));
    p.text = "abc";
    p.rate = 10;
    await p.send();
    expect(p.state).toBe("done");
    expect(p.sent).toBe(3);
    expect(p.total).toBe(3);
    expect(sent.map((s) => `${String.fromCharCode(s.keysym)}${s.down ? "+" : "-"}`)).toEqual(["a+", "a-", "b+", "b-", "c+", "c-"]);
    expect(waits).toEqual([100, 100]); // between characters, not after the last
  });

  it("sends fast paces in batches a tick apart", async () => {
    const text = "x".repeat(45);
    const { p, sent, waits } = job(plan(text));
    p.rate = 1000;
    await p.send();
    expect(p.sent).toBe(45);
    expect(sent).toHaveLength(90);
    expect(waits).toEqual([20, 20]); // 20 characters per 20 ms
  });

  it("sends nothing while a character cannot be typed, and lists it", async () => {
    const { p, sent } = job(plan("a", [{ index: 1, text: "€" }]));
    await p.send();
    expect(p.state).toBe("blocked");
    expect(p.untypable).toEqual([{ index: 1, text: "€" }]);
    expect(sent).toEqual([]);
    p.edit();
    expect(p.state).toBe("editing");
  });

  it("stops between characters when cancelled, leaving no key held", async () => {
    let cancel = () => {};
    const { p, sent } = job(plan("abcdef"), (n) => {
      // (at 10 characters/s, one wait per character)
      if (n === 2) cancel();
    });
    cancel = () => p.cancel();
    p.rate = 10;
    await p.send();
    expect(p.state).toBe("cancelled");
    expect(p.sent).toBe(2);
    expect(sent).toHaveLength(4);
    expect(sent.filter((s) => s.down).length).toBe(sent.filter((s) => !s.down).length);
  });

  it("says why when the plan is refused", async () => {
    const { p } = job(Object.assign(new Error("x"), { kind: "invalidInput", message: "100001 characters" }));
    await p.send();
    expect(p.state).toBe("failed");
    expect(p.error).toBeTruthy();
  });
});
