// Catalogue words for VM operations and states, and the panel's date formatting.
import { locale, t, type MessageKey } from "../lib/i18n/messages";
import type { VmOperation } from "../lib/ipc";

const opKeys: Record<VmOperation, MessageKey> = {
  poweroff: "vm_op_poweroff",
  "poweroff-hard": "vm_op_poweroff_hard",
  resume: "vm_op_resume",
  reboot: "vm_op_reboot",
  "reboot-hard": "vm_op_reboot_hard",
  suspend: "vm_op_suspend",
  stop: "vm_op_stop",
  undeploy: "vm_op_undeploy",
  "undeploy-hard": "vm_op_undeploy_hard",
  hold: "vm_op_hold",
  release: "vm_op_release",
  terminate: "vm_op_terminate",
  "terminate-hard": "vm_op_terminate_hard",
  reinstall: "vm_op_reinstall",
  resize: "vm_op_resize",
  rename: "vm_op_rename",
  "snapshot-create": "vm_op_snapshot_create",
  "snapshot-revert": "vm_op_snapshot_revert",
  "snapshot-delete": "vm_op_snapshot_delete",
};

/** The operation's name as a button says it ("Power off"). */
export function opLabel(op: string): string {
  const key = opKeys[op as VmOperation];
  return key === undefined ? op : t(key);
}

const stateKeys: Record<string, MessageKey> = {
  INIT: "vm_state_init",
  PENDING: "vm_state_pending",
  HOLD: "vm_state_hold",
  ACTIVE: "vm_state_active",
  STOPPED: "vm_state_stopped",
  SUSPENDED: "vm_state_suspended",
  DONE: "vm_state_done",
  FAILED: "vm_state_failed",
  POWEROFF: "vm_state_poweroff",
  UNDEPLOYED: "vm_state_undeployed",
  CLONING: "vm_state_cloning",
  CLONING_FAILURE: "vm_state_cloning_failure",
};

// The LCM states a user meets often; the rarer ones keep oned's name.
const lcmKeys: Record<string, MessageKey> = {
  LCM_INIT: "vm_lcm_lcm_init",
  PROLOG: "vm_lcm_prolog",
  BOOT: "vm_lcm_boot",
  RUNNING: "vm_lcm_running",
  MIGRATE: "vm_lcm_migrate",
  SAVE_STOP: "vm_lcm_save_stop",
  SAVE_SUSPEND: "vm_lcm_save_suspend",
  SAVE_MIGRATE: "vm_lcm_save_migrate",
  EPILOG: "vm_lcm_epilog",
  EPILOG_STOP: "vm_lcm_epilog_stop",
  SHUTDOWN: "vm_lcm_shutdown",
  SHUTDOWN_POWEROFF: "vm_lcm_shutdown_poweroff",
  SHUTDOWN_UNDEPLOY: "vm_lcm_shutdown_undeploy",
  HOTPLUG: "vm_lcm_hotplug",
  HOTPLUG_NIC: "vm_lcm_hotplug_nic",
  HOTPLUG_SNAPSHOT: "vm_lcm_hotplug_snapshot",
  HOTPLUG_RESIZE: "vm_lcm_hotplug_resize",
  UNKNOWN: "vm_lcm_unknown",
  BOOT_FAILURE: "vm_lcm_boot_failure",
  PROLOG_FAILURE: "vm_lcm_prolog_failure",
  EPILOG_FAILURE: "vm_lcm_epilog_failure",
};

function words(keys: Record<string, MessageKey>, name: string): string {
  const key = keys[name];
  // "Running (RUNNING)": the words for the reader, oned's name for searching its docs and logs.
  return key === undefined ? name : t("vm_state_words", { state: t(key), name });
}

/** A STATE name in words, e.g. "Powered off (POWEROFF)". */
export function stateWords(state: string): string {
  return words(stateKeys, state);
}

/** An LCM_STATE name in words, e.g. "Taking a snapshot (HOTPLUG_SNAPSHOT)". */
export function lcmWords(lcmState: string): string {
  return words(lcmKeys, lcmState);
}

/** Why a disallowed operation is disabled. */
export function unavailableReason(stateLabel: string): string {
  return t("vm_op_unavailable", { state: stateLabel });
}

/** Epoch seconds as a date and time in the window's locale. */
export function formatEpoch(seconds: number): string {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(seconds * 1000);
}
