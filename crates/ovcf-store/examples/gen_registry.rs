//! Writes a synthetic registry export (NDJSON) for the import benchmark: N patients, each with an
//! engine-made assessment (request + full report), its index fracture, three follow-up tasks and a
//! drug. Usage: `gen_registry N OUT.ndjson`. Deterministic.

use std::io::BufWriter;

use ovcf_core::Date;
use ovcf_store::db::Val;
use ovcf_store::schema::Entity;
use ovcf_store::transfer::ChainWriter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: u64 = args.get(1).ok_or("usage: gen_registry N OUT")?.parse()?;
    let out = std::fs::File::create(args.get(2).ok_or("usage: gen_registry N OUT")?)?;
    let mut w = ChainWriter::new(
        BufWriter::with_capacity(1 << 20, out),
        "bench",
        "2026-11-27T00:00:00.000Z",
    );
    w.create(Entity::User, vec![Val::text("bench")])?;
    let base = Date::parse("2025-01-01").ok_or("date")?;
    let mut seed: u64 = 42;
    let mut rnd = |m: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % m
    };
    let mut lines = 1u64;
    for i in 0..n {
        let as_of = base.add_days(rnd(600) as i64);
        let onset = 1 + rnd(60) as u32;
        let age = 55 + rnd(40);
        let t = -1.0 - (rnd(30) as f64) / 10.0;
        let sex = if rnd(5) == 0 { "male" } else { "female" };
        let req = format!(
            r#"{{"as_of":"{as_of}","patient":{{"age":{age},"sex":"{sex}","neurological_deficit":"none","asa_class":2}},"fractures":[{{"level":"L1","onset_days":{onset},"pain_vas":8,"imaging":["xray","mri"],"mri":{{"t1":"hypointense","stir":"hyperintense"}},"height_loss_pct":30,"posterior_wall":"intact"}}],"bone_density":{{"dxa":{{"lumbar_spine_t":{t:.1}}}}}}}"#
        );
        let report = ovcf_core::assess_json(&req, as_of).map_err(|e| format!("{e}"))?;
        let pid = w.create(
            Entity::Patient,
            vec![
                Val::text(format!("B{i:07}")),
                Val::text(sex),
                Val::text(format!("{}-01-01", 2025 - age as i64)),
                Val::Text(None),
                Val::Text(None),
            ],
        )?;
        let therapy = report
            .pharmacotherapy
            .recommended
            .iter()
            .any(|d| d.is_antiosteoporosis());
        let aid = w.create(
            Entity::Assessment,
            vec![
                Val::int(pid),
                Val::Int(None),
                Val::text(as_of.to_string()),
                Val::text(&report.phase),
                Val::text(report.treatment.plan.as_str()),
                Val::int(i64::from(therapy)),
                Val::text(&report.engine_version),
                Val::text(&report.knowledge_version),
                Val::text(req.clone()),
                Val::text(serde_json::to_string(&report)?),
            ],
        )?;
        let idx = as_of.add_days(-i64::from(onset));
        w.create(
            Entity::IndexFracture,
            vec![
                Val::int(pid),
                Val::int(aid),
                Val::text(idx.to_string()),
                Val::text("L1"),
                Val::text(idx.add_days(90).to_string()),
                Val::text(idx.add_days(112).to_string()),
                Val::text(idx.add_days(364).to_string()),
                Val::text(idx.add_months(10).to_string()),
                Val::text(idx.add_months(12).to_string()),
                Val::text(idx.add_months(14).to_string()),
            ],
        )?;
        lines += 3;
        for f in report
            .follow_up
            .iter()
            .filter(|f| f.at_months.is_some())
            .take(3)
        {
            w.create(
                Entity::Task,
                vec![
                    Val::int(pid),
                    Val::int(aid),
                    Val::int(f.at_months.map_or(0, i64::from)),
                    Val::text(serde_json::to_string(&f.items)?),
                    Val::text(f.from.to_string()),
                    Val::text(f.due.to_string()),
                ],
            )?;
            lines += 1;
        }
        w.create(
            Entity::Medication,
            vec![
                Val::int(pid),
                Val::text("zoledronic_acid"),
                Val::int(1),
                Val::text(as_of.add_days(rnd(200) as i64).to_string()),
                Val::Text(None),
                Val::Text(None),
                Val::Int(None),
            ],
        )?;
        lines += 1;
    }
    w.finish()?;
    eprintln!("{lines} lines");
    Ok(())
}
