//! Integration tests of the simulator: one binary, one module per area.

mod acl;
mod common;
mod consoles;
mod http;
mod lifecycle;
mod replay;
mod xsd;
