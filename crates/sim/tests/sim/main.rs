//! Integration tests of the simulator: one binary, one module per area.

mod acl;
mod common;
mod lifecycle;
mod replay;
mod xsd;
