//! Deck against the in-process simulator: sign-in, inventory and its cache, consoles through the
//! relay with their audit rows, login-token renewal, the demo cloud, VM management.

mod consoles;
mod demo;
mod inventory;
mod profiles;
mod recording;
mod spice;
mod support;
mod tokens;
mod vms;
