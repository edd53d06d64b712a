// The VM table's columns: which exist, which show by default, and their names.
import { t } from "../lib/i18n/messages";
import type { Column } from "../lib/ipc";

/** Every column, in the table's order. */
export const ALL_COLUMNS: readonly Column[] = ["endpoint", "id", "name", "owner", "group", "state", "host", "ips", "vcpu", "memory"];

/** The columns a table shows until the user chooses. */
export const DEFAULT_COLUMNS: readonly Column[] = ["id", "name", "owner", "state", "host", "ips", "vcpu", "memory"];

const LABEL: Record<Column, () => string> = {
  endpoint: () => t("inventory_col_endpoint"),
  id: () => t("inventory_col_id"),
  name: () => t("inventory_col_name"),
  owner: () => t("inventory_col_owner"),
  group: () => t("inventory_col_group"),
  state: () => t("inventory_col_state"),
  host: () => t("inventory_col_host"),
  ips: () => t("inventory_col_ips"),
  vcpu: () => t("inventory_col_vcpu"),
  memory: () => t("inventory_col_memory"),
};

/** A column's name in the current language. */
export function columnLabel(column: Column): string {
  return LABEL[column]();
}
