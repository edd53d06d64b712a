#![no_main]
//! libFuzzer target: see `onedeck_relay::fuzzing::recording`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    onedeck_relay::fuzzing::recording(data);
});
