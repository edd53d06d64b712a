//! Per-VM console window settings and per-endpoint table views: opaque JSON the app writes (the
//! store does not read it), at most [`MAX_SETTINGS_BYTES`] each.

use std::time::SystemTime;

use rusqlite::{OptionalExtension, params};

use crate::db::{Store, to_ms};
use crate::error::{Error, Result};

/// One VM's settings are at most this long.
pub const MAX_SETTINGS_BYTES: usize = 4096;

impl Store {
    /// Saves the console settings of VM `vm_id` of profile `profile_id`, replacing earlier ones.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] for settings longer than [`MAX_SETTINGS_BYTES`]; SQLite errors.
    pub fn save_console_settings(
        &mut self,
        profile_id: &str,
        vm_id: u64,
        json: &str,
    ) -> Result<()> {
        if json.len() > MAX_SETTINGS_BYTES {
            return Err(Error::OutOfRange {
                field: "console settings (bytes)",
                value: json.len().to_string(),
            });
        }
        self.conn.execute(
            "INSERT INTO console_settings (profile_id, vm_id, json, updated_at_ms)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (profile_id, vm_id) DO UPDATE SET json = ?3, updated_at_ms = ?4",
            params![
                profile_id,
                i64::try_from(vm_id).unwrap_or(i64::MAX),
                json,
                to_ms(SystemTime::now())
            ],
        )?;
        Ok(())
    }

    /// The console settings saved for VM `vm_id` of profile `profile_id`, if any.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn load_console_settings(&self, profile_id: &str, vm_id: u64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT json FROM console_settings WHERE profile_id = ?1 AND vm_id = ?2",
                params![profile_id, i64::try_from(vm_id).unwrap_or(i64::MAX)],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Saves how the table `view_key` (a profile id, or the app's key for all endpoints) is
    /// sorted, narrowed and laid out, replacing the earlier view.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] for a view longer than [`MAX_SETTINGS_BYTES`]; SQLite errors.
    pub fn save_table_view(&mut self, view_key: &str, json: &str) -> Result<()> {
        if json.len() > MAX_SETTINGS_BYTES {
            return Err(Error::OutOfRange {
                field: "table view (bytes)",
                value: json.len().to_string(),
            });
        }
        self.conn.execute(
            "INSERT INTO table_view (view_key, json, updated_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (view_key) DO UPDATE SET json = ?2, updated_at_ms = ?3",
            params![view_key, json, to_ms(SystemTime::now())],
        )?;
        Ok(())
    }

    /// The table view saved under `view_key`, if any.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn load_table_view(&self, view_key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT json FROM table_view WHERE view_key = ?1",
                params![view_key],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Forgets every VM's console settings of profile `profile_id` (the profile was removed).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn forget_console_settings(&mut self, profile_id: &str) -> Result<()> {
        self.conn.execute(
            "DELETE FROM console_settings WHERE profile_id = ?1",
            params![profile_id],
        )?;
        // The profile's table view goes with it.
        self.conn.execute(
            "DELETE FROM table_view WHERE view_key = ?1",
            params![profile_id],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[test]
    fn settings_are_kept_per_vm_replaced_bounded_and_forgotten() -> crate::Result<()> {
        let dir = tempfile::tempdir().map_err(|source| crate::Error::Io {
            action: "creating",
            path: "tmp".into(),
            source,
        })?;
        let path = dir.path().join("s.sqlite3");
        {
            let mut s = Store::open(&path)?;
            assert_eq!(s.load_console_settings("lab", 7)?, None);
            s.save_console_settings("lab", 7, r#"{"scaleMode":"off"}"#)?;
            s.save_console_settings("lab", 7, r#"{"scaleMode":"remote"}"#)?;
            s.save_console_settings("lab", 8, r#"{"scaleMode":"fit"}"#)?;
            assert!(
                s.save_console_settings("lab", 9, &"x".repeat(5000))
                    .is_err()
            );
        }
        // A restart: the file keeps them.
        let mut s = Store::open(&path)?;
        assert_eq!(
            s.load_console_settings("lab", 7)?.as_deref(),
            Some(r#"{"scaleMode":"remote"}"#)
        );
        assert_eq!(s.load_console_settings("other", 7)?, None);
        assert_eq!(s.load_console_settings("lab", 9)?, None);
        s.forget_console_settings("lab")?;
        assert_eq!(s.load_console_settings("lab", 8)?, None);
        Ok(())
    }

    #[test]
    fn table_views_are_kept_per_key_replaced_bounded_and_forgotten() -> crate::Result<()> {
        let dir = tempfile::tempdir().map_err(|source| crate::Error::Io {
            action: "creating",
            path: "tmp".into(),
            source,
        })?;
        let mut s = Store::open(&dir.path().join("v.sqlite3"))?;
        assert_eq!(s.load_table_view("lab")?, None);
        s.save_table_view("lab", r#"{"sort":"name"}"#)?;
        s.save_table_view("lab", r#"{"sort":"host"}"#)?;
        s.save_table_view("*all", r#"{"sort":"id"}"#)?;
        assert!(s.save_table_view("lab", &"x".repeat(5000)).is_err());
        assert_eq!(
            s.load_table_view("lab")?.as_deref(),
            Some(r#"{"sort":"host"}"#)
        );
        s.forget_console_settings("lab")?;
        assert_eq!(s.load_table_view("lab")?, None);
        assert_eq!(
            s.load_table_view("*all")?.as_deref(),
            Some(r#"{"sort":"id"}"#)
        );
        Ok(())
    }
}
