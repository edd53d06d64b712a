//! Integration tests of onedeck-opennebula: real captured replies served over HTTP on loopback.

mod calls;
mod corpus;
mod errors;
mod hostile;
mod samples;
mod server;
mod sim;
mod tls;
