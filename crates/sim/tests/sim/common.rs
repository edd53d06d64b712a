//! Helpers shared by the simulator's integration tests.
