//! Durability: an `ovcf import` killed with SIGKILL right after it reported its first committed
//! batch keeps every reported line, its chain verifies, and a second import completes it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use ovcf_core::Date;
use ovcf_store::{NewPatient, Store};

const OVCF: &str = env!("CARGO_BIN_EXE_ovcf");

fn ovcf(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(OVCF)
        .arg("--db")
        .arg(db)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

const REQUEST: &str = r#"{"as_of":"2026-11-24","patient":{"age":68,"sex":"female","neurological_deficit":"none","asa_class":2},"fractures":[{"level":"L1","onset_days":10,"pain_vas":8,"imaging":["xray","ct","mri"],"mri":{"t1":"hypointense","t2":"hyperintense","stir":"hyperintense"},"morphometry":{"anterior_mm":17.5,"middle_mm":20,"posterior_mm":27},"posterior_wall":"intact"}],"bone_density":{"dxa":{"lumbar_spine_t":-2.9,"femoral_neck_t":-2.4}}}"#;

#[test]
fn import_killed_after_first_batch_keeps_what_it_reported() {
    let dir = std::env::temp_dir().join(format!("ovcf-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let src = format!("sqlite:{}", dir.join("src.db").display());
    let dst = format!("sqlite:{}", dir.join("dst.db").display());
    let today = Date::parse("2026-11-27").unwrap();

    // A source registry of 600 patients with an assessment each (≈ 3,600 lines, 4 batches).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let export = rt.block_on(async {
        let store = Store::open(&src).await.unwrap();
        for i in 0..600 {
            let mrn = format!("C{i:05}");
            store
                .add_patient(
                    "loader",
                    NewPatient {
                        mrn: mrn.clone(),
                        sex: "female".into(),
                        birth_date: "1958-03-02".into(),
                        name: None,
                        phone: None,
                    },
                    today,
                )
                .await
                .unwrap();
            store
                .record_assessment("loader", &mrn, REQUEST, today)
                .await
                .unwrap();
        }
        let mut out = Vec::new();
        store.export(&mut out).await.unwrap();
        store.close().await;
        String::from_utf8(out).unwrap()
    });
    let total = export.lines().count();
    let file = dir.join("export.ndjson");
    std::fs::write(&file, &export).unwrap();

    // Import, and SIGKILL it as soon as it reports a committed batch.
    let mut child = Command::new(OVCF)
        .args([
            "--db",
            &dst,
            "import",
            "--batch-lines",
            "1000",
            file.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reported = 0u64;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if let Some(n) = v["committed"].as_u64()
            && n > 0
        {
            reported = n;
            child.kill().unwrap(); // SIGKILL on Unix
            break;
        }
    }
    child.wait().unwrap();
    assert!(reported > 0, "no batch was reported");
    assert!(
        (reported as usize) < total,
        "the kill must land mid-import ({reported} of {total} lines reported)"
    );

    // Every reported line is there, as a prefix of the source, and the chain verifies.
    let out = ovcf(&dst, &["export"]);
    assert!(out.status.success());
    let kept = String::from_utf8(out.stdout).unwrap();
    let kept_lines = kept.lines().count();
    eprintln!("killed after {reported} of {total} lines; {kept_lines} kept");
    assert!(kept_lines as u64 >= reported);
    assert!(export.starts_with(&kept));
    let out = ovcf(&dst, &["audit", "verify", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Running the import again completes it: the same registry as the source.
    let out = ovcf(&dst, &["import", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ovcf(&dst, &["export"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), export);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let dir = std::env::temp_dir().join(format!("ovcf-badinput-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite:{}", dir.join("r.db").display());
    let ok = ovcf(
        &db,
        &[
            "patient",
            "add",
            "--mrn",
            "B1",
            "--sex",
            "male",
            "--birth-date",
            "1950-01-01",
            "--format",
            "json",
        ],
    );
    assert!(ok.status.success());
    let before = String::from_utf8(ovcf(&db, &["export"]).stdout).unwrap();
    for args in [
        &[
            "patient",
            "add",
            "--mrn",
            "B1",
            "--sex",
            "male",
            "--birth-date",
            "1950-01-01",
        ][..],
        &[
            "patient",
            "add",
            "--mrn",
            "B2",
            "--sex",
            "male",
            "--birth-date",
            "1950-13-01",
        ],
        &[
            "record",
            "medication",
            "B1",
            "--drug",
            "aspirin",
            "--start",
            "2026-01-01",
        ],
        &[
            "record",
            "measurement",
            "B1",
            "--date",
            "2026-01-01",
            "--vas",
            "12",
        ],
        &[
            "record",
            "event",
            "B1",
            "--date",
            "2026-01-01",
            "--type",
            "new_fracture",
            "--level",
            "L9",
        ],
        &[
            "record",
            "event",
            "NOPE",
            "--date",
            "2026-01-01",
            "--type",
            "death",
        ],
        &["task", "done", "42"],
        &["kpi", "--from", "yesterday"],
    ] {
        let out = ovcf(&db, args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = ovcf(
        &db,
        &[
            "record",
            "measurement",
            "B1",
            "--date",
            "2026-01-01",
            "--vas",
            "12",
            "--format",
            "json",
        ],
    );
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["errors"][0]["path"], "--vas");
    assert_eq!(
        String::from_utf8(ovcf(&db, &["export"]).stdout).unwrap(),
        before
    );
    let _ = std::fs::remove_dir_all(&dir);
}
