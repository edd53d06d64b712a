//! An OpenNebula simulator: the demo cloud and the test bed.
//!
//! It owns an XML-RPC server on loopback that answers like a real oned 7.4.0 (users, groups, ACL,
//! templates, hosts, VMs and their state machine) and a real VNC server for each running VM.
//!
//! It leaves to others: the client side of the protocol (`onedeck-opennebula`). It writes its
//! documents with its own serialiser and never uses the client's decoder or models, so that a
//! misreading of oned cannot hide in both.
