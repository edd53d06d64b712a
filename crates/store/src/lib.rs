//! Local state in SQLite.
//!
//! It owns the database in the OS data dir and its migrations: the inventory snapshot per profile,
//! the console audit log and the recordings index.
//!
//! It leaves to others: secrets (`onedeck-vault`, never in the database), fetching the inventory
//! (`onedeck-opennebula`) and recording bytes (`onedeck-relay`).
