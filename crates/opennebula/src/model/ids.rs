//! Newtype ids, so a VM id cannot be passed where a template id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i32);

        impl $name {
            /// The raw number oned uses.
            pub fn get(self) -> i32 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<i32> for $name {
            fn from(v: i32) -> Self {
                Self(v)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map(Self)
            }
        }
    };
}

id_type!(
    /// A VM id.
    VmId
);
id_type!(
    /// A VM template id.
    TemplateId
);
id_type!(
    /// A host id.
    HostId
);
id_type!(
    /// A user id (-1 in some history records).
    UserId
);
id_type!(
    /// A group id.
    GroupId
);
id_type!(
    /// A cluster id.
    ClusterId
);
id_type!(
    /// A datastore id.
    DatastoreId
);
id_type!(
    /// A virtual network id.
    NetworkId
);
id_type!(
    /// An image id.
    ImageId
);
id_type!(
    /// A VM (system) snapshot id.
    SnapshotId
);
