#![no_main]
//! libFuzzer target: see `onedeck_relay::fuzzing::frame_header`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| onedeck_relay::fuzzing::frame_header(data));
