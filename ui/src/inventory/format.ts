// Cell formatting for the VM table.
import { t } from "../lib/i18n/messages";

/** Memory as "512 MiB" below 1 GiB, else "2 GiB" / "1.5 GiB"; a dash when unknown. */
export function formatMemory(mib: number | null): string {
  if (mib === null || !Number.isFinite(mib)) return t("inventory_none");
  if (mib < 1024) return t("inventory_memory_mib", { value: mib });
  return t("inventory_memory_gib", { value: Math.round((mib / 1024) * 10) / 10 });
}

/** A count or a dash when unknown. */
export function formatCount(value: number | null): string {
  return value === null ? t("inventory_none") : String(value);
}
