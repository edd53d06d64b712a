// uPlot builds `new Intl.NumberFormat(navigator.language)` when its module loads. WebKitGTK
// reports the POSIX locale "C" when LANG is unset (CI, minimal sessions), which Intl rejects with
// a RangeError; a static import then stopped the whole main window from starting. So the chart
// library is loaded on first use, after a language tag Intl accepts is in place.
import type uPlotType from "uplot";

/** `tag` when Intl accepts it, else "en-US". */
export function usableLanguage(tag: string | undefined): string {
  if (!tag) return "en-US";
  try {
    new Intl.NumberFormat(tag);
    return tag;
  } catch {
    return "en-US";
  }
}

let loading: Promise<typeof uPlotType> | null = null;

/** uPlot's constructor, loaded once. */
export function loadUplot(): Promise<typeof uPlotType> {
  if (!loading) {
    const tag = usableLanguage(navigator.language);
    if (tag !== navigator.language) {
      // An own property shadows Navigator.prototype's getter; the prototype itself is untouched.
      Object.defineProperty(navigator, "language", { value: tag, configurable: true });
    }
    loading = import("uplot").then((m) => m.default);
  }
  return loading;
}
