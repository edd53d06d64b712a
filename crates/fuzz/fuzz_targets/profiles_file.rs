#![no_main]
//! libFuzzer target: see `onedeck_vault::fuzzing::profiles_file`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| onedeck_vault::fuzzing::profiles_file(data));
