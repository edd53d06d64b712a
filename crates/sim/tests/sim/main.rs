//! Integration tests of the simulator: one binary, one module per area.

mod common;
mod replay;
