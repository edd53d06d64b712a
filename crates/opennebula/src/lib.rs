//! The only place in OneDeck that speaks to OpenNebula.
//!
//! It owns the XML-RPC transport to oned (`/RPC2`), the typed models of the documents oned returns
//! (VM, VM pool, template, host, user, monitoring), the facts derived from them (state labels,
//! allowed actions, console target) and the typed errors of every call.
//!
//! It leaves to others: where credentials come from (`onedeck-vault`), caching (`onedeck-store`) and
//! relaying console bytes (`onedeck-relay`). It has no UI dependency and runs headless.
