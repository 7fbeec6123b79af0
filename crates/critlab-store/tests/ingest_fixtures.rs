//! Ingest of real files written by PyTorch's and tensorboardX's SummaryWriter and by MLflow
//! (fixtures made by scripts/fixtures/make_ingest_fixtures.sh; one grokking run logged to all
//! of them, so the sources must agree with each other).
use critlab_store::ingest::{self, table::TableOptions, IngestOptions, Outcome};
use critlab_store::Store;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ingest")
}

/// Unpacks the gzipped MLflow store into `dir`.
fn mlflow_db(dir: &Path) -> PathBuf {
    let gz = std::fs::File::open(fixtures().join("mlflow.db.gz")).unwrap();
    let mut out = std::fs::File::create(dir.join("mlflow.db")).unwrap();
    std::io::copy(&mut flate2::read::GzDecoder::new(gz), &mut out).unwrap();
    dir.join("mlflow.db")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn pytorch_and_tensorboardx_event_files_give_their_scalars_and_hparams() {
    let src = ingest::tensorboard::read(&fixtures().join("tensorboard")).unwrap();
    let names: Vec<&str> = src.runs.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["grokking", "tbx_no_wd"],
        "hparams subdirectories fold into their run; notes: {:?}",
        src.notes
    );
    let grok = &src.runs[0];
    for tag in ["train/loss", "train/accuracy", "val/loss", "val/accuracy", "weight_norm"] {
        assert_eq!(grok.series[tag].len(), 61, "{tag}");
    }
    // val/* were written as TF2 scalar tensors (new_style=True), train/* as simple values.
    assert_eq!(grok.series["train/accuracy"][&3000], 1.0);
    assert!(grok.series["val/accuracy"][&3000] > 0.9);
    assert_eq!(grok.params["weight_decay"], Value::from(1.0));
    assert_eq!(grok.params["optimizer"], Value::from("AdamW"));
    assert!(src.notes.iter().any(|n| n.contains("first_layer")), "the histogram is noted as skipped: {:?}", src.notes);
    let tbx = &src.runs[1];
    assert_eq!(tbx.params["weight_decay"], Value::from(0.0));
    assert_eq!(tbx.series["val/accuracy"].len(), 61);
}

#[test]
fn the_same_run_through_tensorboard_mlflow_and_a_wandb_csv_stores_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.db")).unwrap();
    let opts = IngestOptions::default();
    let tb = store.ingest(&ingest::tensorboard::read(&fixtures().join("tensorboard")).unwrap(), &opts).unwrap();
    let ml = store.ingest(&ingest::mlflow::read(&mlflow_db(dir.path())).unwrap(), &opts).unwrap();
    let wandb = ingest::table::read(&fixtures().join("wandb_history.csv"), false, &TableOptions::default()).unwrap();
    let params =
        IngestOptions::parse_params(&["weight_decay=1".into(), "train_frac=0.7".into(), "lr=0.03".into()]).unwrap();
    let wb = store.ingest(&wandb, &IngestOptions { params, ..Default::default() }).unwrap();
    assert_eq!((tb.runs.len(), ml.runs.len(), wb.runs.len()), (2, 2, 1));
    let ml_grok = ml.runs.iter().find(|r| r.name == "grokking-wd1").unwrap();
    assert_eq!(ml_grok.sweep, "grokking", "MLflow's experiment is the sweep");
    let ids = [tb.runs[0].id, ml_grok.id, wb.runs[0].id];
    for id in ids {
        let run = store.run(id).unwrap();
        assert_eq!(run.spec["weight-decay"], Value::from(1.0), "run {id}");
        assert_eq!(run.spec["train-frac"], Value::from(0.7), "run {id}");
        assert_eq!(run.spec["lr"], Value::from(0.03), "run {id}");
        for name in ["train_acc", "test_acc", "train_loss", "test_loss"] {
            assert!(!store.series(id, name).unwrap().is_empty(), "run {id} lacks {name}: {:?}", store.metric_names(id));
        }
    }
    let tb_spec = store.run(ids[0]).unwrap().spec;
    assert_eq!(tb_spec["width"], Value::from(128), "hidden_dim maps onto width");
    assert_eq!(tb_spec["steps"], Value::from(3000), "max_steps maps onto steps");
    assert_eq!(tb_spec["seed"], Value::from(0));
    // TensorBoard keeps float32, MLflow and the CSV float64: agreement to float32 precision.
    let a = store.series(ids[0], "test_loss").unwrap();
    let b = store.series(ids[1], "test_loss").unwrap();
    assert_eq!(a.len(), b.len());
    for ((sa, va), (sb, vb)) in a.iter().zip(&b) {
        assert_eq!(sa, sb);
        assert!(((va - vb) / vb).abs() < 1e-6, "step {sa}: {va} vs {vb}");
    }
    let c = store.series(ids[2], "test_loss").unwrap();
    assert_eq!(c.len(), 31, "W&B rows without a value are not points");
    for (s, v) in &c {
        let (_, vb) = b.iter().find(|(sb, _)| sb == s).unwrap();
        assert_eq!(v, vb, "CSV and MLflow hold the same float64");
    }
    // Re-ingesting every source adds nothing.
    let again = store.ingest(&ingest::tensorboard::read(&fixtures().join("tensorboard")).unwrap(), &opts).unwrap();
    assert_eq!(again.count(Outcome::Unchanged), 2);
    let again = store.ingest(&ingest::mlflow::read(&dir.path().join("mlflow.db")).unwrap(), &opts).unwrap();
    assert_eq!(again.count(Outcome::Unchanged), 2);
    assert_eq!(store.runs(None).unwrap().len(), 5);
}

#[test]
fn a_pytorch_file_cut_mid_record_is_read_up_to_the_cut_and_damage_elsewhere_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    copy_dir(&fixtures().join("tensorboard/grokking"), &logs);
    let file = std::fs::read_dir(&logs).unwrap().map(|e| e.unwrap().path()).find(|p| p.is_file()).unwrap();
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 5]).unwrap();
    let src = ingest::tensorboard::read(&logs).unwrap();
    assert!(src.notes.iter().any(|n| n.contains("incomplete") && n.contains("byte offset")), "{:?}", src.notes);
    let mut damaged = bytes.clone();
    damaged[200] ^= 0x10;
    std::fs::write(&file, &damaged).unwrap();
    let e = ingest::tensorboard::read(&logs).unwrap_err().to_string();
    assert!(e.contains(&file.file_name().unwrap().to_string_lossy().into_owned()) && e.contains("byte offset"), "{e}");
}
