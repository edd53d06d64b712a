//! What a front end holds of a profile's inventory, as a fingerprint per VM row, and the
//! difference between that and a fresh list: only changed rows cross the IPC on a refresh.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

use onedeck_opennebula::VmId;

use crate::view::VmSummary;

/// A fixed-key hasher: fingerprints are compared only within this process, never stored.
type Fingerprinter = BuildHasherDefault<DefaultHasher>;

/// A row's fingerprint: equal rows give equal fingerprints; a change to any field shown (state,
/// LCM state through the label, host, IPs, name, size…) changes it but for a 2⁻⁶⁴ chance.
pub fn fingerprint(vm: &VmSummary) -> u64 {
    Fingerprinter::default().hash_one(vm)
}

/// The rows one front end holds of one profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    rows: HashMap<VmId, u64>,
}

/// What changed between [`Held`] and a fresh list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Indexes (into the fresh list) of rows that are new or changed.
    pub changed: Vec<usize>,
    /// VMs held that the fresh list no longer has, by ascending id.
    pub removed: Vec<VmId>,
}

impl Held {
    /// What a front end holds after it was sent `rows` whole.
    pub fn of(rows: &[VmSummary]) -> Self {
        Self {
            rows: rows.iter().map(|vm| (vm.id, fingerprint(vm))).collect(),
        }
    }

    /// How many rows are held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row is held.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Records that the front end now holds `vm` (an event changed one row).
    pub fn upsert(&mut self, vm: &VmSummary) {
        self.rows.insert(vm.id, fingerprint(vm));
    }

    /// Records that the front end dropped VM `id`.
    pub fn remove(&mut self, id: VmId) {
        self.rows.remove(&id);
    }

    /// The difference to `fresh` (rows with distinct ids); afterwards `self` holds `fresh`.
    pub fn advance(&mut self, fresh: &[VmSummary]) -> Diff {
        let mut next = HashMap::with_capacity(fresh.len());
        let mut changed = Vec::new();
        for (i, vm) in fresh.iter().enumerate() {
            let print = fingerprint(vm);
            if self.rows.remove(&vm.id) != Some(print) {
                changed.push(i);
            }
            next.insert(vm.id, print);
        }
        // What is left was not in the fresh list.
        let mut removed: Vec<VmId> = self.rows.keys().copied().collect();
        removed.sort_unstable();
        self.rows = next;
        Diff { changed, removed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::StateClass;

    fn vm(id: i32, state: &str) -> VmSummary {
        VmSummary {
            id: VmId(id),
            name: format!("vm-{id}"),
            owner: "alice".into(),
            group: "users".into(),
            state: state.into(),
            state_class: StateClass::Running,
            host: None,
            ips: vec![],
            vcpu: None,
            memory_mib: None,
            console: false,
            spice: false,
        }
    }

    #[test]
    fn only_new_changed_and_gone_rows_differ() {
        let before: Vec<_> = (0..5).map(|i| vm(i, "RUNNING")).collect();
        let mut held = Held::of(&before);
        assert_eq!(held.len(), 5);
        let mut after = before.clone();
        after[1].state = "POWEROFF".into();
        after[3].ips.push("10.0.0.3".into());
        after.remove(4);
        after.push(vm(9, "PENDING"));
        let diff = held.advance(&after);
        assert_eq!(diff.changed, vec![1, 3, 4]);
        assert_eq!(diff.removed, vec![VmId(4)]);
        assert_eq!(held, Held::of(&after));
        assert_eq!(
            held.advance(&after),
            Diff::default(),
            "nothing changed since"
        );
    }

    #[test]
    fn events_keep_the_held_rows_in_step() {
        let rows: Vec<_> = (0..3).map(|i| vm(i, "RUNNING")).collect();
        let mut held = Held::of(&rows);
        let mut moved = rows.clone();
        moved[0].state = "POWEROFF".into();
        held.upsert(&moved[0]);
        held.remove(VmId(2));
        let diff = held.advance(&moved);
        assert_eq!(diff.changed, vec![2], "only the row the front end dropped");
        assert!(diff.removed.is_empty());
    }
}
