//! Integration tests of the relay: real sockets on 127.0.0.1, a real WebSocket client
//! (tokio-tungstenite), counting targets, and QEMU's VNC server when it is installed.

mod corpus;
mod piping;
mod qemu;
mod recording;
mod rejections;
mod spice;
mod support;
