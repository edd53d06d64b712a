//! The ssh_files fuzz corpus (`crates/fuzz/corpus/ssh_files`), replayed on stable through the
//! fuzz target's own entry point.

#[test]
fn ssh_files_corpus_replays_without_panic() {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ssh_files");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        onedeck_ssh::fuzzing::ssh_files(&bytes);
        n += 1;
    }
    assert!(n > 0, "the corpus is committed");
}
