#![no_main]
//! libFuzzer target: see `onedeck_opennebula::fuzzing::envelope`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| onedeck_opennebula::fuzzing::envelope(data));
