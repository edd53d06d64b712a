//! The profiles-file fuzz corpus (`crates/fuzz/corpus/profiles_file`), replayed on stable through
//! the fuzz target's entry point: no file may panic the parser.

#[test]
fn profiles_file_corpus_replays_without_panic() {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/profiles_file");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
    {
        let bytes = std::fs::read(entry.path()).unwrap_or_else(|e| panic!("{e}"));
        onedeck_vault::fuzzing::profiles_file(&bytes);
        n += 1;
    }
    assert!(n > 0, "the corpus is committed");
}
