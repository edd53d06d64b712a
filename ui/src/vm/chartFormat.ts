// Numbers on the monitoring charts' axes and legends, through Intl so each locale gets its own units.
import { locale } from "../lib/i18n/messages";

const rateUnits = [
  ["gigabyte-per-second", 1e9],
  ["megabyte-per-second", 1e6],
  ["kilobyte-per-second", 1e3],
] as const;

/** A rate in bytes/s with the largest unit it reaches, e.g. "1.5 MB/s". */
export function formatRate(bytesPerSecond: number): string {
  const size = Math.abs(bytesPerSecond);
  for (const [unit, factor] of rateUnits) {
    if (size >= factor) {
      return new Intl.NumberFormat(locale(), { style: "unit", unit, maximumFractionDigits: 1 }).format(
        bytesPerSecond / factor,
      );
    }
  }
  return new Intl.NumberFormat(locale(), { style: "unit", unit: "byte-per-second", maximumFractionDigits: 0 }).format(
    bytesPerSecond,
  );
}

/** CPU use in percent (100 = one core), e.g. "150%". */
export function formatPercent(value: number): string {
  return new Intl.NumberFormat(locale(), { style: "unit", unit: "percent", maximumFractionDigits: 1 }).format(value);
}

/** A chart time (epoch seconds) as hours and minutes. */
export function formatClock(seconds: number): string {
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit" }).format(seconds * 1000);
}
