//! The archive against real peers: dcmtk's echoscu/storescu/findscu/getscu/movescu/storescp
//! and pynetdicom, with every file of the shared corpus.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed step is a failed test

#[path = "../common/mod.rs"]
mod common;

mod association;
mod query;
mod retrieve;
mod storage;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::*;

/// Corpus files expected to be archived (MR_truncated.dcm is bad input and must be refused).
fn good_corpus_files() -> Vec<PathBuf> {
    corpus_files()
        .into_iter()
        .filter(|p| !p.ends_with("MR_truncated.dcm"))
        .collect()
}

fn corpus_index() -> Vec<serde_json::Value> {
    let files: Vec<String> = good_corpus_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["corpus_index"];
    args.extend(files.iter().map(|s| s.as_str()));
    let index = peer(&args).as_array().cloned().unwrap_or_default();
    // Guard against a vacuous pass: the corpus has 28 readable objects.
    assert!(index.len() >= 25, "corpus index too small: {}", index.len());
    index
}

/// Stores the whole corpus with pynetdicom, proposing each file in its own transfer syntax
/// so every object is stored exactly as received. Returns the status per file.
fn store_corpus(server: &Server) -> serde_json::Value {
    let files: Vec<String> = good_corpus_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let port = server.port();
    let mut args = vec!["store", "127.0.0.1", port.as_str(), server.ae.as_str()];
    args.extend(files.iter().map(|s| s.as_str()));
    let r = peer(&args);
    // The corpus holds some objects twice under one SOP Instance UID (other syntax, or a
    // derived copy with other attributes). The first copy must be stored; a later one is
    // either the same object (success) or different content (warning 0xB000, existing kept).
    let mut seen = BTreeSet::new();
    for entry in corpus_index() {
        let file = entry["path"].as_str().unwrap();
        let status = &r[file];
        if seen.insert(entry["sop"].as_str().unwrap().to_string()) {
            assert_eq!(status, 0, "{file} was not stored: {r}");
        } else {
            assert!(status == 0 || status == 0xB000, "{file}: {status}");
        }
    }
    r
}
