// Relative times ("5 minutes ago") for the stale banner, through Intl so every locale gets its own words.

const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1_000],
];

/** `then` relative to `now` (both ms since the epoch) in `locale`, e.g. "5 minutes ago". */
export function relativeTime(then: number, now: number, locale: string): string {
  const format = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  const delta = then - now;
  const size = Math.abs(delta);
  // Under ten seconds is "now": the clock of the endpoint and ours never agree to the second.
  if (size < 10_000) return format.format(0, "second");
  for (const [unit, ms] of units) {
    if (size >= ms || unit === "second") return format.format(Math.round(delta / ms), unit);
  }
  return format.format(0, "second");
}
