#![no_main]
//! libFuzzer target: see `onedeck_ssh::fuzzing::ssh_files`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| onedeck_ssh::fuzzing::ssh_files(data));
