// Only the rows in view (plus a margin) are in the DOM: @tanstack/virtual-core decides which,
// from the scroll container's size and offset and the rows' fixed height. It is headless
// and framework-free, so the VM table stays a <table> with its test ids; this class turns its
// callbacks into Svelte state.
import {
  Virtualizer,
  elementScroll,
  observeElementOffset,
  observeElementRect,
  type VirtualItem,
} from "@tanstack/virtual-core";

/** Rows rendered beyond each edge of the view: keyboard moves and small scrolls need no render. */
export const OVERSCAN = 20;

/** Pixels kept free below the last row. */
const END_ROOM = 20;

/** The window of rows a scroll container shows. */
export class VirtualRows {
  /** The rows to render now, with their offsets. */
  items = $state<VirtualItem[]>([]);
  /** The height of every row together. */
  totalSize = $state(0);
  readonly #virtualizer: Virtualizer<HTMLElement, HTMLElement>;

  constructor(scrollElement: () => HTMLElement | null, rowHeight: number) {
    this.#virtualizer = new Virtualizer<HTMLElement, HTMLElement>({
      count: 0,
      getScrollElement: scrollElement,
      estimateSize: () => rowHeight,
      overscan: OVERSCAN,
      // Room below the last row: WebKitGTK's overlay scrollbar would otherwise cover its bottom
      // (and its Console button) once the table also scrolls sideways.
      paddingEnd: END_ROOM,
      scrollPaddingEnd: END_ROOM,
      observeElementRect,
      observeElementOffset,
      scrollToFn: elementScroll,
      indexAttribute: "data-index",
      onChange: () => this.#sync(),
    });
  }

  /** Starts following the scroll container; returns the function that stops. */
  mount(): () => void {
    const stop = this.#virtualizer._didMount();
    this.#virtualizer._willUpdate();
    this.#sync();
    return stop;
  }

  /** The list changed: `count` rows, keyed by `key` so measurements follow their row. */
  update(count: number, key: (index: number) => number): void {
    this.#virtualizer.setOptions({ ...this.#virtualizer.options, count, getItemKey: key });
    this.#virtualizer._willUpdate();
    this.#sync();
  }

  /** Scrolls just enough for row `index` to be in view. */
  scrollToIndex(index: number): void {
    if (index >= 0) this.#virtualizer.scrollToIndex(index, { align: "auto" });
  }

  /** Space above the first rendered row and below the last. */
  get padding(): { top: number; bottom: number } {
    const first = this.items[0];
    const last = this.items[this.items.length - 1];
    if (!first || !last) return { top: 0, bottom: 0 };
    return { top: first.start, bottom: Math.max(0, this.totalSize - last.end) };
  }

  #sync(): void {
    this.items = this.#virtualizer.getVirtualItems();
    this.totalSize = this.#virtualizer.getTotalSize();
  }
}
