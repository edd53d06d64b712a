//! Endpoint profiles and their secrets.
//!
//! It owns the profiles file (TOML in the OS config dir, written atomically with a backup) and the
//! secrets in the OS keyring (service `onedeck`, account = profile id). Secrets never touch disk.
//!
//! It leaves to others: talking to the endpoint (`onedeck-opennebula`) and local state such as the
//! inventory cache (`onedeck-store`).
