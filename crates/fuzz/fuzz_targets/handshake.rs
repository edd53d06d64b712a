#![no_main]
//! libFuzzer target: see `onedeck_relay::fuzzing::upgrade_request`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    onedeck_relay::fuzzing::upgrade_request(data);
});
