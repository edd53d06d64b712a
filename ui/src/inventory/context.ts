// The main window's state, shared with its components through Svelte context.
import { createContext } from "svelte";
import type { ErrorBanner } from "../lib/errors.svelte";
import type { CreateVmState } from "../vm/createVm.svelte";
import type { VmActions } from "../vm/vmActions.svelte";
import type { VmDetailsState } from "../vm/vmDetails.svelte";
import type { VmMenuState } from "../vm/vmMenu.svelte";
import type { VmMonitoringState } from "../vm/vmMonitoring.svelte";
import type { Endpoints } from "./endpoints.svelte";
import type { InventoryState } from "./inventory.svelte";
import type { VmSelection } from "./selection.svelte";

/** Everything the main window's components read and act on. */
export interface MainWindow {
  errors: ErrorBanner;
  endpoints: Endpoints;
  inventory: InventoryState;
  selection: VmSelection;
  details: VmDetailsState;
  monitoring: VmMonitoringState;
  actions: VmActions;
  menu: VmMenuState;
  create: CreateVmState;
}

/** Reads and provides the main window's state. */
export const [getMainWindow, setMainWindow] = createContext<MainWindow>();
