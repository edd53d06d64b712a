//! The fuzz corpora (`crates/fuzz/corpus`, seeded from the real oned captures and grown by
//! `make fuzz`), replayed on stable through the fuzz targets' own entry points: none may panic.

use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the {target} corpus is committed");
    files
}

#[test]
fn envelope_corpus_replays_without_panic() {
    for (_path, bytes) in corpus("envelope") {
        onedeck_opennebula::fuzzing::envelope(&bytes);
    }
}

#[test]
fn documents_corpus_replays_without_panic() {
    for (_path, bytes) in corpus("documents") {
        onedeck_opennebula::fuzzing::documents(&bytes);
    }
}
