//! The relay's fuzz corpora (`crates/fuzz/corpus/*`), replayed on stable through the fuzz
//! targets' entry points: no input may panic, and the hand-written seeds give the answers their
//! names promise.

use std::path::PathBuf;

use onedeck_relay::{fuzzing, rfb::Phase};

/// Every file of one corpus, by name.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(e.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the {target} corpus is committed");
    files
}

#[test]
fn frame_header_corpus_replays_without_panic() {
    for (_, bytes) in corpus("frame_header") {
        fuzzing::frame_header(&bytes);
    }
}

#[test]
fn handshake_corpus_replays_and_only_the_valid_seeds_are_admitted() {
    let mut admitted = Vec::new();
    for (name, bytes) in corpus("handshake") {
        if fuzzing::upgrade_request(&bytes) && name.starts_with("seed-") {
            admitted.push(name);
        }
    }
    assert_eq!(
        admitted,
        [
            "seed-binary_subprotocol",
            "seed-valid",
            "seed-websockify_path"
        ]
    );
}

#[test]
fn rfb_corpus_replays_and_the_seeds_end_where_expected() {
    for (name, bytes) in corpus("rfb_streams") {
        let (phase, events) = fuzzing::rfb_streams(&bytes);
        match name.as_str() {
            "seed-v38" => assert_eq!((phase, events), (Phase::Normal, 6)),
            "seed-v33" | "seed-v37" => assert_eq!((phase, events), (Phase::Normal, 1)),
            "seed-auth_failed" => assert_eq!(phase, Phase::Failed),
            "seed-vencrypt" => assert!(matches!(phase, Phase::Opaque(_))),
            _ => {}
        }
    }
}

#[test]
fn recording_corpus_replays_and_bad_seeds_stop_early() {
    for (name, bytes) in corpus("recording") {
        let records = fuzzing::recording(&bytes);
        match name.as_str() {
            "seed-records" => assert_eq!(records, 8, "{name}: every kind of record"),
            "seed-file" => assert_eq!(records, 9, "{name}: eight records and the end"),
            "seed-file-truncated" => assert_eq!(records, 8, "{name}: all but the end"),
            "seed-records-v3" => {
                assert_eq!(
                    records, 2,
                    "{name}: a pixel format and a keyframe, then a cut one"
                )
            }
            "seed-file-flipped" | "seed-file-v4" => {
                assert!(records < 9, "{name}: a broken file is not read to its end")
            }
            _ => {}
        }
    }
}

#[test]
fn rfb_server_corpus_replays_and_the_seeds_decode_as_named() {
    for (name, bytes) in corpus("rfb_server") {
        let stopped = fuzzing::rfb_server(&bytes);
        match name.as_str() {
            "seed-every-encoding" | "seed-16bit" => assert_eq!(stopped, None, "{name}"),
            "seed-tight" => assert!(
                stopped.as_deref().is_some_and(|w| w.contains("encoding 7")),
                "{name}: stops at the Tight rectangle: {stopped:?}"
            ),
            _ => {}
        }
    }
}
