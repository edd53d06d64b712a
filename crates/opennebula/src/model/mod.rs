//! Typed models of the documents oned returns, decoded with quick-xml (see [`Document`]).

pub mod action;
pub mod any;
pub mod common;
pub mod console;
pub mod host;
pub mod ids;
pub mod state;
pub mod template;
pub mod user;
pub mod user_input;
pub mod vm;
mod vm_decode;
