//! The inventory snapshot per profile: the VM rows last fetched, for offline display.
//!
//! Rows arrive already serialised (JSON text), so this crate does not depend on the OpenNebula
//! models. The caller strips secrets first — above all the VNC password (`GRAPHICS/PASSWD`) —
//! and this module refuses, whole, any snapshot with a row that still has a password-like key:
//! scrubbing would hide the caller's bug, refusing makes it loud in the first test that hits it.

use std::time::SystemTime;

use rusqlite::{OptionalExtension, params};

use crate::db::{Store, from_ms, to_ms};
use crate::error::{Error, Result};

/// One VM of a snapshot: its id and its row as JSON text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmRow {
    /// The OpenNebula VM id.
    pub vm_id: u64,
    /// The row as the caller serialised it (a JSON object), with secrets stripped.
    pub json: String,
}

/// A profile's cached inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventorySnapshot {
    /// When the rows were fetched from the endpoint (the UI shows the age).
    pub fetched_at: SystemTime,
    /// The VMs, by ascending id.
    pub rows: Vec<VmRow>,
}

/// Key fragments (lower-case) that mark a field as a password.
const SECRET_KEY_MARKS: &[&str] = &["passw", "passphrase"];

fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEY_MARKS.iter().any(|m| key.contains(m))
}

/// The JSON path of the first password-like key in `json`, if any.
///
/// Fast path: rows whose text mentions no mark (and has no `\u` escape that could spell one) are
/// not parsed. Text that is not JSON is not inspected further: it is the caller's format to keep.
fn find_secret_key(json: &str) -> Option<String> {
    let lower = json.to_ascii_lowercase();
    if !lower.contains("\\u") && !SECRET_KEY_MARKS.iter().any(|m| lower.contains(m)) {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    fn walk(value: &serde_json::Value, path: &str) -> Option<String> {
        match value {
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if is_secret_key(k) {
                    Some(here)
                } else {
                    walk(v, &here)
                }
            }),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{path}[{i}]"))),
            _ => None,
        }
    }
    walk(&value, "")
}

fn to_i64(field: &'static str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::OutOfRange {
        field,
        value: value.to_string(),
    })
}

impl Store {
    /// Replaces the profile's snapshot with `rows`, in one transaction: readers (and a crash) see
    /// the old snapshot or the new one, never a mix.
    ///
    /// # Errors
    /// [`Error::SecretInRow`] (nothing written), [`Error::OutOfRange`], [`Error::Busy`],
    /// [`Error::Sqlite`].
    pub fn save_inventory(
        &mut self,
        profile_id: &str,
        fetched_at: SystemTime,
        rows: &[VmRow],
    ) -> Result<()> {
        for row in rows {
            if let Some(field) = find_secret_key(&row.json) {
                return Err(Error::SecretInRow {
                    vm_id: row.vm_id,
                    field,
                });
            }
        }
        let count = to_i64("vm_count", rows.len() as u64)?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM inventory_vm WHERE profile_id = ?1",
            params![profile_id],
        )?;
        tx.execute(
            "INSERT INTO inventory_snapshot (profile_id, fetched_at_ms, vm_count) VALUES (?1, ?2, ?3)
             ON CONFLICT(profile_id) DO UPDATE SET fetched_at_ms = excluded.fetched_at_ms,
                                                   vm_count = excluded.vm_count",
            params![profile_id, to_ms(fetched_at), count],
        )?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO inventory_vm (profile_id, vm_id, row_json) VALUES (?1, ?2, ?3)",
            )?;
            for row in rows {
                insert.execute(params![profile_id, to_i64("vm_id", row.vm_id)?, row.json])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The profile's cached snapshot, or `None` if it was never saved.
    ///
    /// # Errors
    /// [`Error::Sqlite`].
    pub fn load_inventory(&self, profile_id: &str) -> Result<Option<InventorySnapshot>> {
        // One read transaction so the header and the rows come from the same snapshot.
        let tx = self.conn.unchecked_transaction()?;
        let header: Option<(i64, i64)> = tx
            .query_row(
                "SELECT fetched_at_ms, vm_count FROM inventory_snapshot WHERE profile_id = ?1",
                params![profile_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((fetched_at_ms, count)) = header else {
            return Ok(None);
        };
        let mut stmt = tx.prepare_cached(
            "SELECT vm_id, row_json FROM inventory_vm WHERE profile_id = ?1 ORDER BY vm_id",
        )?;
        let mut rows = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        let mut query = stmt.query(params![profile_id])?;
        while let Some(r) = query.next()? {
            let vm_id: i64 = r.get(0)?;
            rows.push(VmRow {
                vm_id: u64::try_from(vm_id).unwrap_or_default(),
                json: r.get(1)?,
            });
        }
        Ok(Some(InventorySnapshot {
            fetched_at: from_ms(fetched_at_ms),
            rows,
        }))
    }

    /// Forgets the profile's snapshot (e.g. when the profile is removed); returns whether one existed.
    ///
    /// # Errors
    /// [`Error::Busy`], [`Error::Sqlite`].
    pub fn delete_inventory(&mut self, profile_id: &str) -> Result<bool> {
        let n = self.conn.execute(
            "DELETE FROM inventory_snapshot WHERE profile_id = ?1",
            params![profile_id],
        )?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_like_keys_are_found_at_any_depth() {
        assert_eq!(find_secret_key(r#"{"id":1,"name":"web"}"#), None);
        assert_eq!(
            find_secret_key(r#"{"template":{"graphics":{"PASSWD":"x"}}}"#).as_deref(),
            Some("template.graphics.PASSWD")
        );
        assert_eq!(
            find_secret_key(r#"{"nics":[{"vnc_password":"x"}]}"#).as_deref(),
            Some("nics[0].vnc_password")
        );
        assert_eq!(
            find_secret_key(r#"{"Pass\u0077ord":"x"}"#).as_deref(),
            Some("Password"),
            "escapes do not hide a key"
        );
        assert_eq!(
            find_secret_key(r#"{"name":"password-vault"}"#),
            None,
            "a value that mentions passwords is fine"
        );
    }
}
