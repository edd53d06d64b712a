// Builds the main window's state objects and wires them together: the events of the shell, the
// inventory's polls, and the profile switch all reach the parts that care, in one place.
import { ErrorBanner } from "../lib/errors.svelte";
import { onSignedOut, onVmChanged, type VmChanged } from "../lib/ipc";
import { CreateVmState } from "../vm/createVm.svelte";
import { VmActions } from "../vm/vmActions.svelte";
import { VmDetailsState } from "../vm/vmDetails.svelte";
import { VmMenuState } from "../vm/vmMenu.svelte";
import { VmMonitoringState } from "../vm/vmMonitoring.svelte";
import type { MainWindow } from "./context";
import { Endpoints } from "./endpoints.svelte";
import { InventoryState } from "./inventory.svelte";
import { VmSelection } from "./selection.svelte";

/** The main window's state plus what the root component calls on its lifecycle. */
export interface MainWindowControl {
  window: MainWindow;
  /** Switches the shown profile (null = none): inventory, panel, selection and feedback follow. */
  showProfile(profileId: string | null): void;
  /** Switches to "All endpoints": the rows of every profile in `profileIds`, named by `names`. */
  showAll(profileIds: string[], names: Record<string, string>): void;
  /** Listens to the shell's events and the inventory polls; resolves to the function that stops. */
  connect(): Promise<() => void>;
}

/** Creates the main window's state. */
export function buildMainWindow(): MainWindowControl {
  const errors = new ErrorBanner();
  const endpoints = new Endpoints(errors);
  const inventory = new InventoryState(errors, (id) => endpoints.markSignedOut(id));
  const selection = new VmSelection();
  const details = new VmDetailsState();
  const monitoring = new VmMonitoringState();
  const menu = new VmMenuState();
  const actions = new VmActions(() => inventory.profileId, {
    // The old VM is on its way out: show the new one and list it.
    replaced: (result) => {
      if (details.vmId === result.oldVmId && inventory.profileId !== null) {
        void details.open(inventory.profileId, result.vmId);
      }
      void inventory.refresh();
    },
  });
  const create = new CreateVmState({
    profileId: () => inventory.profileId,
    created: (ids, placeholders) => {
      inventory.addPlaceholders(placeholders);
      actions.markPending(ids, "create");
      actions.announce({ kind: "created", ids });
    },
  });
  const state: MainWindow = { errors, endpoints, inventory, selection, details, monitoring, actions, menu, create };

  const changed = (change: VmChanged) => {
    inventory.applyChange(change);
    actions.applyChange(change);
    details.applyChange(change);
  };

  const leave = () => {
    details.close();
    menu.close();
    create.close();
    actions.reset();
    selection.clear();
    void monitoring.show(null, null);
  };

  return {
    window: state,
    showProfile(profileId) {
      leave();
      void inventory.show(profileId);
    },
    showAll(profileIds, names) {
      leave();
      void inventory.showAll(profileIds, names);
    },
    async connect() {
      const stops: (() => void)[] = [];
      stops.push(
        inventory.onRefreshed(() => {
          void details.reload();
          void monitoring.reload();
        }),
      );
      try {
        stops.push(await onVmChanged(changed));
        stops.push(await onSignedOut((event) => endpoints.markSignedOut(event.profileId)));
      } catch (error) {
        errors.show(error);
      }
      return () => {
        for (const stop of stops) stop();
      };
    },
  };
}
