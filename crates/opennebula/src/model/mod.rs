//! Typed models of the documents oned returns, decoded with quick-xml (see [`Document`]).

pub mod any;
pub mod common;
pub mod host;
pub mod ids;
pub mod state;
pub mod template;
pub mod user;
pub mod user_input;
pub mod vm;
