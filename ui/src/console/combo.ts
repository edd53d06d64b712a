// The send-key menu's own combination: modifiers held in order, a key pressed and released,
// the modifiers let go in reverse (as the app's send-key items are built).
import type { KeyStep } from "../lib/ipc-types";

/** Modifiers a combination may hold, with their X11 keysyms. */
export const MODIFIERS = [
  { name: "ctrl", label: "Ctrl", keysym: 0xffe3 },
  { name: "alt", label: "Alt", keysym: 0xffe9 },
  { name: "shift", label: "Shift", keysym: 0xffe1 },
  { name: "super", label: "Super", keysym: 0xffeb },
] as const;

const named: [string, number][] = [
  ["Delete", 0xffff],
  ["BackSpace", 0xff08],
  ["Escape", 0xff1b],
  ["Tab", 0xff09],
  ["Return", 0xff0d],
  ["Print", 0xff61],
  ["Insert", 0xff63],
  ["Home", 0xff50],
  ["End", 0xff57],
  ["Page_Up", 0xff55],
  ["Page_Down", 0xff56],
  ["Left", 0xff51],
  ["Up", 0xff52],
  ["Right", 0xff53],
  ["Down", 0xff54],
  ["space", 0x20],
];

/** Keys a combination may end with: F1…F12, named keys, letters and digits. */
export const KEYS: { label: string; keysym: number }[] = [
  ...Array.from({ length: 12 }, (_, i) => ({ label: `F${i + 1}`, keysym: 0xffbe + i })),
  ...named.map(([label, keysym]) => ({ label, keysym })),
  ...Array.from({ length: 26 }, (_, i) => ({ label: String.fromCharCode(0x41 + i), keysym: 0x61 + i })),
  ...Array.from({ length: 10 }, (_, i) => ({ label: String(i), keysym: 0x30 + i })),
];

/** The events of a combination (`keys`: modifiers then the key). */
export function comboSteps(keys: number[]): KeyStep[] {
  const key = keys.at(-1);
  if (key === undefined) return [];
  const mods = keys.slice(0, -1);
  return [
    ...mods.map((keysym) => ({ keysym, down: true })),
    { keysym: key, down: true },
    { keysym: key, down: false },
    ...[...mods].reverse().map((keysym) => ({ keysym, down: false })),
  ];
}

/** How the menu shows a combination, e.g. `Ctrl+Alt+F7`. */
export function comboLabel(keys: number[]): string {
  return keys
    .map(
      (k) =>
        MODIFIERS.find((m) => m.keysym === k)?.label ?? KEYS.find((x) => x.keysym === k)?.label ?? `0x${k.toString(16)}`,
    )
    .join("+");
}
