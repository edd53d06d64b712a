#![no_main]
//! libFuzzer target: see `onedeck_opennebula::fuzzing::documents`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| onedeck_opennebula::fuzzing::documents(data));
