//! The WebSocket-frame fuzz corpus (`crates/fuzz/corpus/frame_header`), replayed on stable
//! through the fuzz target's entry point: no input may panic.

#[test]
fn frame_header_corpus_replays_without_panic() {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/frame_header");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
    {
        let bytes = std::fs::read(entry.path()).unwrap_or_else(|e| panic!("{e}"));
        onedeck_relay::fuzzing::frame_header(&bytes);
        n += 1;
    }
    assert!(n > 0, "the corpus is committed");
}
