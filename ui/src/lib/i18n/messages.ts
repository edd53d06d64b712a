// Typed message lookup: keys come from en.json (the source catalogue), so a missing key fails the
// type check. Formatting uses ICU MessageFormat (plurals, not concatenation) via intl-messageformat.
import { IntlMessageFormat } from "intl-messageformat";
import en from "./en.json";
import zhCN from "./zh-CN.json";

/** A key of the source catalogue. */
export type MessageKey = keyof typeof en;
/** Values substituted into a message. */
export type MessageValues = Record<string, string | number>;

type Catalogue = Record<MessageKey, string>;

const catalogues: Record<string, Catalogue> = { en, "zh-CN": zhCN };

/** The locales with a catalogue, the source first. */
export const locales = Object.keys(catalogues);

/** Picks the best catalogue for a BCP 47 tag such as the webview's `navigator.language`. */
export function pickLocale(requested: string | undefined): string {
  if (!requested) return "en";
  if (requested in catalogues) return requested;
  const language = requested.split("-")[0];
  return locales.find((l) => l.split("-")[0] === language) ?? "en";
}

const cache = new Map<string, IntlMessageFormat>();
let current = pickLocale(typeof navigator === "undefined" ? undefined : navigator.language);

/** Switches the active locale (falls back to English for unknown tags). */
export function setLocale(requested: string): string {
  current = pickLocale(requested);
  return current;
}

/** The active locale's tag, for Intl formatters. */
export function locale(): string {
  return current;
}

/** Returns the message `key` in the active locale, formatted with `values`. */
export function t(key: MessageKey, values?: MessageValues): string {
  const catalogue = catalogues[current] ?? en;
  const source = catalogue[key] ?? en[key];
  const cacheKey = `${current}\u0000${key}`;
  let format = cache.get(cacheKey);
  if (!format) {
    format = new IntlMessageFormat(source, current);
    cache.set(cacheKey, format);
  }
  return String(format.format(values));
}

/** Catalogue keys missing from `locale`, for the catalogue test. */
export function missingKeys(locale: string): MessageKey[] {
  const catalogue = catalogues[locale] ?? {};
  return (Object.keys(en) as MessageKey[]).filter((k) => !(k in catalogue));
}
