//! The app's own websockify: a loopback WebSocket-to-TCP relay for VNC consoles.
//!
//! It owns the listener on 127.0.0.1, single-use tickets bound to one target, the Origin and Host
//! guards, the piping with bounded buffers, per-session stats and optional session recording.
//!
//! It leaves to others: deciding which target a VM has (`onedeck-opennebula`), the audit log on
//! disk (`onedeck-store`) and the console window itself (the app).
