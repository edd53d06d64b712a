//! The inventory as it crosses to a front end: deltas against what the front end already holds,
//! rows in a compact shape, and the table view (sort, facets, columns) kept per endpoint.

use onedeck_opennebula::VmId;
use onedeck_vault::ProfileId;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

use super::VmSummary;
use crate::error::{Error, Result};

/// What a front end must do to its rows of one profile to match the endpoint.
///
/// Every reply and page of [`crate::Deck::inventory_sync`] is one of these: `reset` replaces the
/// front end's rows with `rows`; otherwise `rows` are added or replaced by id and `removed` go.
/// `revision` names the result; the next sync passes it back as `since` so only what changed
/// after it crosses the IPC.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryDelta {
    /// The profile.
    pub profile_id: ProfileId,
    /// What the front end holds once it applied this delta.
    pub revision: u64,
    /// True: drop every row held before applying `rows`.
    pub reset: bool,
    /// New and changed rows, as compact arrays (see [`CompactRows`]).
    #[serde(serialize_with = "compact_rows")]
    pub rows: Vec<VmSummary>,
    /// VMs that are gone.
    pub removed: Vec<VmId>,
    /// When the rows were fetched from the endpoint, milliseconds since the Unix epoch.
    pub fetched_at: u64,
    /// True when the rows are the cached snapshot (or the last answer), not a fresh one.
    pub stale: bool,
    /// Why fresh rows could not be had, when stale after a failed refresh.
    pub stale_reason: Option<String>,
    /// False for a page of a load still running; the last delta of a sync is `done`.
    pub done: bool,
    /// VMs received so far in this load (the progress shown while pages arrive).
    pub loaded: usize,
    /// A page: its number, from 1. The last delta: how many pages came before it, so a front
    /// end whose pages travel apart from the reply applies it only after all of them.
    pub pages: u32,
}

/// The order of a compact row's fields, for front ends and docs (docs/IPC.md).
///
/// A row is `[id, name, owner, group, state, stateClass, host, ips, vcpu, memoryMib, flags]`,
/// `flags` bit 0 = VNC console available, bit 1 = SPICE console available. At 100,000 VMs this is
/// about half the bytes of objects with their keys repeated, and parses faster.
pub const COMPACT_ROW_FIELDS: [&str; 11] = [
    "id",
    "name",
    "owner",
    "group",
    "state",
    "stateClass",
    "host",
    "ips",
    "vcpu",
    "memoryMib",
    "flags",
];

/// Rows serialised as arrays, in [`COMPACT_ROW_FIELDS`] order.
pub struct CompactRows<'a>(pub &'a [VmSummary]);

impl Serialize for CompactRows<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for vm in self.0 {
            let flags = u8::from(vm.console) | (u8::from(vm.spice) << 1);
            seq.serialize_element(&(
                vm.id,
                &vm.name,
                &vm.owner,
                &vm.group,
                &vm.state,
                vm.state_class,
                &vm.host,
                &vm.ips,
                vm.vcpu,
                vm.memory_mib,
                flags,
            ))?;
        }
        seq.end()
    }
}

fn compact_rows<S: Serializer>(rows: &[VmSummary], s: S) -> std::result::Result<S::Ok, S::Error> {
    CompactRows(rows).serialize(s)
}

/// A column of the VM table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Column {
    /// VM id.
    Id,
    /// VM name.
    Name,
    /// Owner's user name.
    Owner,
    /// Group name.
    Group,
    /// State label.
    State,
    /// Host of the last history record.
    Host,
    /// IP addresses.
    Ips,
    /// Virtual CPUs.
    Vcpu,
    /// Memory.
    Memory,
    /// The endpoint (the "All endpoints" view).
    Endpoint,
}

impl Column {
    /// Every column, in the table's order.
    pub const ALL: [Self; 10] = [
        Self::Id,
        Self::Name,
        Self::Owner,
        Self::Group,
        Self::State,
        Self::Host,
        Self::Ips,
        Self::Vcpu,
        Self::Memory,
        Self::Endpoint,
    ];
}

/// Which way a column sorts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SortDir {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// At most this many values per facet are remembered.
pub const MAX_FACET_VALUES: usize = 64;
/// A remembered facet value is at most this long (bytes).
pub const MAX_FACET_VALUE_LEN: usize = 256;

/// How a table is sorted, narrowed and which columns it shows; remembered per endpoint and for
/// the "All endpoints" view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TableView {
    /// The sort column.
    pub sort: Column,
    /// Its direction.
    pub dir: SortDir,
    /// State labels shown (empty: all).
    #[serde(default)]
    pub states: Vec<String>,
    /// Owners shown (empty: all).
    #[serde(default)]
    pub owners: Vec<String>,
    /// Hosts shown (empty: all).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Endpoints (profile ids) shown in the "All endpoints" view (empty: all).
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// The columns shown, in order (at least one).
    pub columns: Vec<Column>,
}

impl Default for TableView {
    fn default() -> Self {
        Self {
            sort: Column::Id,
            dir: SortDir::Asc,
            states: Vec::new(),
            owners: Vec::new(),
            hosts: Vec::new(),
            endpoints: Vec::new(),
            columns: vec![
                Column::Id,
                Column::Name,
                Column::Owner,
                Column::State,
                Column::Host,
                Column::Ips,
                Column::Vcpu,
                Column::Memory,
            ],
        }
    }
}

impl TableView {
    /// Refuses a view that could not have come from the table: no column, a column twice, too
    /// many or too long facet values.
    ///
    /// # Errors
    /// `invalidInput`, naming the field.
    pub fn check(&self) -> Result<()> {
        if self.columns.is_empty() {
            return Err(invalid("columns", "at least one column is shown"));
        }
        for (i, c) in self.columns.iter().enumerate() {
            if self.columns[..i].contains(c) {
                return Err(invalid("columns", format!("{c:?} is listed twice")));
            }
        }
        for (field, values) in [
            ("states", &self.states),
            ("owners", &self.owners),
            ("hosts", &self.hosts),
            ("endpoints", &self.endpoints),
        ] {
            if values.len() > MAX_FACET_VALUES {
                return Err(invalid(
                    field,
                    format!("at most {MAX_FACET_VALUES} values, not {}", values.len()),
                ));
            }
            if values.iter().any(|v| v.len() > MAX_FACET_VALUE_LEN) {
                return Err(invalid(
                    field,
                    format!("a value is longer than {MAX_FACET_VALUE_LEN} bytes"),
                ));
            }
        }
        Ok(())
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidInput {
        field,
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::StateClass;

    fn vm(id: i32) -> VmSummary {
        VmSummary {
            id: VmId(id),
            name: format!("vm-{id}"),
            owner: "alice".into(),
            group: "users".into(),
            state: "RUNNING".into(),
            state_class: StateClass::Running,
            host: Some("kvm-1".into()),
            ips: vec!["10.0.0.1".into()],
            vcpu: Some(2),
            memory_mib: None,
            console: true,
            spice: false,
        }
    }

    #[test]
    fn rows_cross_as_arrays_in_the_documented_order() -> serde_json::Result<()> {
        let json = serde_json::to_value(CompactRows(&[vm(7)]))?;
        assert_eq!(
            json,
            serde_json::json!([[
                7,
                "vm-7",
                "alice",
                "users",
                "RUNNING",
                "running",
                "kvm-1",
                ["10.0.0.1"],
                2,
                null,
                1
            ]])
        );
        assert_eq!(COMPACT_ROW_FIELDS.len(), 11);
        let object = serde_json::to_string(&[vm(7)])?;
        let compact = serde_json::to_string(&CompactRows(&[vm(7)]))?;
        assert!(
            compact.len() * 10 < object.len() * 6,
            "{compact} vs {object}"
        );
        Ok(())
    }

    #[test]
    fn a_view_from_elsewhere_is_checked() -> serde_json::Result<()> {
        assert!(TableView::default().check().is_ok());
        let none = TableView {
            columns: vec![],
            ..TableView::default()
        };
        assert!(matches!(
            none.check(),
            Err(Error::InvalidInput {
                field: "columns",
                ..
            })
        ));
        let twice = TableView {
            columns: vec![Column::Id, Column::Id],
            ..TableView::default()
        };
        assert!(twice.check().is_err());
        let many = TableView {
            owners: vec!["x".into(); MAX_FACET_VALUES + 1],
            ..TableView::default()
        };
        assert!(matches!(
            many.check(),
            Err(Error::InvalidInput {
                field: "owners",
                ..
            })
        ));
        let long = TableView {
            hosts: vec!["h".repeat(MAX_FACET_VALUE_LEN + 1)],
            ..TableView::default()
        };
        assert!(long.check().is_err());
        assert!(
            serde_json::from_str::<TableView>(
                r#"{"sort":"id","dir":"asc","columns":["id"],"colour":"red"}"#
            )
            .is_err(),
            "unknown fields are refused"
        );
        let view: TableView =
            serde_json::from_str(r#"{"sort":"host","dir":"desc","columns":["name","host"]}"#)?;
        assert_eq!((view.sort, view.dir), (Column::Host, SortDir::Desc));
        Ok(())
    }
}
