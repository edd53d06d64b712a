//! Integration tests of onedeck-vault: the real keyring (run under `scripts/with-keyring.sh`),
//! crash safety of the profiles file, and a scan proving the password reaches no file.
//!
//! Tests named `child_*` are `#[ignore]`d: they are the bodies of child processes that the other
//! tests start (a keyring store is per process, and a crash test needs a process to kill).

mod corpus;
mod crash;
mod keyring;
mod leak;
mod support;
