//! Every history in Porcupine's test suite (`tests/histories/porcupine/`, vendored with its
//! licence) gets the verdict `VERDICTS.tsv` gives it, and the per-key facts of FORMAT.md hold.

use std::path::PathBuf;

use checkers::import::read_history;
use checkers::linear::{self, Options};
use checkers::{Validity, Value};

fn corpus() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/histories/porcupine");
    assert!(
        dir.join("VERDICTS.tsv").exists(),
        "the shared histories are missing at {}",
        dir.display()
    );
    dir
}

fn check(path: &str, options: &Options) -> linear::Report {
    let file = corpus().join(path);
    let text = std::fs::read_to_string(&file).unwrap();
    let history = read_history(path, &text, None).unwrap();
    let ops = history.operations().unwrap();
    let fs = &mut ops.iter().map(|o| &*o.f);
    let model = linear::by_name(linear::infer(fs).unwrap(), None).unwrap();
    linear::check(&*model, &history, &ops, options).unwrap()
}

#[test]
fn every_verdict_in_the_corpus_agrees() {
    let verdicts = std::fs::read_to_string(corpus().join("VERDICTS.tsv")).unwrap();
    let mut checked = (0, 0);
    for line in verdicts.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (path, expected) = (cols[0], cols[1] == "true");
        if cols[1] == "NA" {
            // etcd_095.log is empty: the run never started. It reads as an empty history.
            let text = std::fs::read_to_string(corpus().join(path)).unwrap();
            assert!(read_history(path, &text, None).unwrap().events.is_empty());
            continue;
        }
        let report = check(path, &Options::default());
        let want = if expected {
            Validity::Valid
        } else {
            Validity::Invalid
        };
        assert_eq!(report.valid, want, "{path}");
        if path.starts_with("jepsen/") {
            checked.0 += 1;
        } else {
            checked.1 += 1;
        }
    }
    assert_eq!(checked, (102, 6));
}

#[test]
fn c10_bad_keys_4_and_8_are_linearizable_and_the_others_not() {
    let options = Options {
        all_keys: true,
        ..Options::default()
    };
    let report = check("kv/c10-bad.txt", &options);
    for p in &report.partitions {
        let key = p.key.clone().unwrap();
        let want = if key == Value::str("4") || key == Value::str("8") {
            Validity::Valid
        } else {
            Validity::Invalid
        };
        assert_eq!(p.valid, want, "key {key}");
    }
    assert_eq!(report.partitions.len(), 10);
}
