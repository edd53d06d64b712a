// The main window's state, shared with its components through Svelte context.
import { createContext } from "svelte";
import type { ErrorBanner } from "../lib/errors.svelte";
import type { Endpoints } from "./endpoints.svelte";
import type { InventoryState } from "./inventory.svelte";

/** Everything the main window's components read and act on. */
export interface MainWindow {
  errors: ErrorBanner;
  endpoints: Endpoints;
  inventory: InventoryState;
}

/** Reads and provides the main window's state. */
export const [getMainWindow, setMainWindow] = createContext<MainWindow>();
