#![no_main]
//! libFuzzer target: see `onedeck_relay::fuzzing::rfb_server`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    onedeck_relay::fuzzing::rfb_server(data);
});
