//! The code map: which FHIR codes fill which request field, the units (UCUM) each field accepts,
//! how long an observation stays current, and which codes name a drug — one declaration in
//! `knowledge/fhir-codes.toml`, parsed once. The discovery prefetch templates are generated from
//! it ([`CodeMap::prefetch_codes`]).
//!
//! A hospital adds local codes without rebuilding with an overlay file in the same format
//! ([`CodeMap::with_overlay`], installed for the process by [`install`]); an overlay can only add
//! codes, and a code already mapped to something else is refused (never silently re-mapped).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use ovcf_core::request::Drug;
use serde::Deserialize;

/// The built-in code map (knowledge/fhir-codes.toml).
pub const CODES_TOML: &str = include_str!("../../../knowledge/fhir-codes.toml");

/// A request field the code map can fill from an Observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Egfr,
    Crcl,
    Calcium,
    VitaminD,
    P1np,
    Ctx,
    LumbarT,
    FemoralNeckT,
    TotalHipT,
    Pain,
}

impl Field {
    pub const ALL: [Field; 10] = [
        Field::Egfr,
        Field::Crcl,
        Field::Calcium,
        Field::VitaminD,
        Field::P1np,
        Field::Ctx,
        Field::LumbarT,
        Field::FemoralNeckT,
        Field::TotalHipT,
        Field::Pain,
    ];

    /// The request path (`labs.egfr_ml_min`, `fractures[].pain_vas` …).
    pub fn path(self) -> &'static str {
        match self {
            Field::Egfr => "labs.egfr_ml_min",
            Field::Crcl => "labs.crcl_ml_min",
            Field::Calcium => "labs.calcium_mmol_l",
            Field::VitaminD => "labs.vitamin_d_nmol_l",
            Field::P1np => "labs.p1np_ug_l",
            Field::Ctx => "labs.ctx_ng_ml",
            Field::LumbarT => "bone_density.dxa.lumbar_spine_t",
            Field::FemoralNeckT => "bone_density.dxa.femoral_neck_t",
            Field::TotalHipT => "bone_density.dxa.total_hip_t",
            Field::Pain => "fractures[].pain_vas",
        }
    }

    pub fn from_path(p: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.path() == p)
    }

    /// The unit group of the field (`[[unit]] field`).
    fn unit_key(self) -> &'static str {
        match self {
            Field::LumbarT | Field::FemoralNeckT | Field::TotalHipT => "bone_density.dxa",
            f => f.path(),
        }
    }

    /// The contract's accepted range of the field (ovcf-core request schema).
    pub fn range(self) -> (f64, f64) {
        match self {
            Field::Egfr => (0.0, 200.0),
            Field::Crcl => (0.0, 250.0),
            Field::Calcium => (0.5, 5.0),
            Field::VitaminD => (0.0, 500.0),
            Field::P1np => (0.0, 2000.0),
            Field::Ctx => (0.0, 10.0),
            Field::LumbarT | Field::FemoralNeckT | Field::TotalHipT => (-7.0, 5.0),
            Field::Pain => (0.0, 10.0),
        }
    }

    pub fn is_dxa(self) -> bool {
        matches!(
            self,
            Field::LumbarT | Field::FemoralNeckT | Field::TotalHipT
        )
    }
}

/// Which kind of vertebral fracture a Condition code names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FractureKind {
    Osteoporotic,
    /// Coded as trauma (S22.0/S32.0): reported, not assessed as OVCF.
    Traumatic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Left,
    Right,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteNeed {
    FemoralNeck,
}

/// Why a known code is present but not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnusedReason {
    BmdNotTScore,
    ZScore,
    CreatinineNotClearance,
    IonisedCalcium,
}

impl UnusedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            UnusedReason::BmdNotTScore => "bmd_not_t_score",
            UnusedReason::ZScore => "z_score",
            UnusedReason::CreatinineNotClearance => "creatinine_not_clearance",
            UnusedReason::IonisedCalcium => "ionised_calcium",
        }
    }
}

/// What an Observation code fills.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObsDef {
    pub field: Field,
    pub rank: u8,
    pub side: Option<Side>,
    pub needs_site: Option<SiteNeed>,
}

/// How a unit converts to the field's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnitRead {
    Factor(f64),
    /// Not a unit the field accepts.
    Refused,
}

// ---- file format ----

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMap {
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    system: Vec<RawSystem>,
    #[serde(default)]
    condition: Vec<RawCondition>,
    #[serde(default)]
    observation: Vec<RawObservation>,
    #[serde(default)]
    known_unused: Vec<RawUnused>,
    #[serde(default)]
    panel: Vec<RawPanel>,
    #[serde(default)]
    unit: Vec<RawUnit>,
    #[serde(default)]
    window: Vec<RawWindow>,
    #[serde(default)]
    drug: Vec<RawDrug>,
    #[serde(default)]
    source: Vec<RawSource>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawSystem {
    key: String,
    uri: String,
    #[serde(default)]
    aliases: Vec<String>,
    sources: Vec<String>,
    status: Status,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Status {
    Verified,
    Corroborated,
    Unverified,
    /// A hospital's own code (overlay).
    Local,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    kind: FractureKind,
    systems: Vec<String>,
    #[serde(default)]
    stem: Option<String>,
    #[serde(default)]
    stems: Vec<String>,
    #[serde(default)]
    seventh: Vec<String>,
    #[serde(default)]
    codes: Vec<String>,
    /// Every code starting with a stem (no 7th-character list).
    #[serde(default)]
    prefix: bool,
    #[serde(default)]
    note: Option<String>,
    sources: Vec<String>,
    status: Status,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawObservation {
    field: String,
    system: String,
    codes: Vec<String>,
    rank: u8,
    #[serde(default)]
    side: Option<Side>,
    #[serde(default)]
    needs_site: Option<SiteNeed>,
    #[serde(default)]
    note: Option<String>,
    sources: Vec<String>,
    status: Status,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawUnused {
    system: String,
    codes: Vec<String>,
    reason: UnusedReason,
    sources: Vec<String>,
    status: Status,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawPanel {
    system: String,
    codes: Vec<String>,
    fields: Vec<String>,
    note: String,
    sources: Vec<String>,
    status: Status,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawUnit {
    field: String,
    canonical: String,
    unitless_ok: bool,
    accept: Vec<RawAccept>,
    sources: Vec<String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawAccept {
    units: Vec<String>,
    factor: f64,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    fields: Vec<String>,
    max_age_days: u32,
    note: String,
    sources: Vec<String>,
    provisional: bool,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawDrug {
    drug: Drug,
    #[serde(default)]
    atc: Vec<String>,
    #[serde(default)]
    atc_prefixes: Vec<String>,
    #[serde(default)]
    rxnorm: Vec<String>,
    /// Other code systems (overlay): `{ system = "key", codes = [...] }`.
    #[serde(default)]
    local: Vec<RawLocal>,
    #[serde(default)]
    note: Option<String>,
    sources: Vec<String>,
    status: Status,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawLocal {
    system: String,
    codes: Vec<String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: String,
    citation: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

/// A field's units: canonical unit, whether an absent unit is accepted, and (normalised unit,
/// factor) pairs.
type UnitSpec = (String, bool, Vec<(String, f64)>);

/// Why a code map (or overlay) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("code map: {}", .0.join("; "))]
pub struct CodeMapError(pub Vec<String>);

/// The parsed code map.
#[derive(Debug, Clone, Default)]
pub struct CodeMap {
    version: String,
    /// URI or alias → system key.
    systems: HashMap<String, String>,
    /// system key → canonical URI.
    canonical: BTreeMap<String, String>,
    /// (system key, normalised code) → kind.
    conditions: HashMap<(String, String), FractureKind>,
    condition_prefixes: Vec<(String, String, FractureKind)>,
    /// system key → code → definition (nested so that look-ups borrow, never allocate).
    observations: HashMap<String, HashMap<String, ObsDef>>,
    unused: HashMap<String, HashMap<String, UnusedReason>>,
    /// (system key, code, fields) of panels read through their components.
    panels: Vec<(String, String, Vec<Field>)>,
    units: HashMap<&'static str, UnitSpec>,
    windows: HashMap<Field, u32>,
    drugs: HashMap<(String, String), Drug>,
    atc_prefixes: Vec<(String, Drug)>,
    drug_atc: BTreeMap<Drug, String>,
    overlay_entries: usize,
}

/// Normalises a code for matching: trimmed, upper case, without dots and spaces.
pub fn norm_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '.')
        .flat_map(char::to_uppercase)
        .collect()
}

/// Normalises a unit for matching: lower case, no spaces or braces, `²` → `2`.
pub fn norm_unit(u: &str) -> String {
    u.chars()
        .filter(|c| !c.is_whitespace() && *c != '{' && *c != '}')
        .map(|c| if c == '²' { '2' } else { c })
        .flat_map(char::to_lowercase)
        .collect()
}

impl CodeMap {
    /// The built-in map; its problems (if any) are returned by [`builtin_problems`].
    pub fn builtin() -> &'static CodeMap {
        static MAP: OnceLock<(CodeMap, Vec<String>)> = OnceLock::new();
        &MAP.get_or_init(|| match CodeMap::parse(CODES_TOML, false) {
            Ok(m) => (m, Vec::new()),
            Err(e) => (CodeMap::default(), e.0),
        })
        .0
    }

    /// The built-in map with a hospital's overlay added.
    pub fn with_overlay(overlay: &str) -> Result<CodeMap, CodeMapError> {
        let mut base = CodeMap::builtin().clone();
        let raw: RawMap = toml::from_str(overlay)
            .map_err(|e| CodeMapError(vec![format!("overlay does not parse: {e}")]))?;
        let mut problems = Vec::new();
        if !raw.unit.is_empty() || !raw.window.is_empty() || !raw.known_unused.is_empty() {
            problems.push(
                "an overlay may add systems, conditions, observations and drugs only (units, windows and known_unused are part of the reviewed knowledge base)".to_string(),
            );
        }
        base.add(&raw, true, &mut problems);
        if !problems.is_empty() {
            return Err(CodeMapError(problems));
        }
        base.version = format!("{}+local-{}", base.version, short_hash(overlay.as_bytes()));
        Ok(base)
    }

    fn parse(text: &str, overlay: bool) -> Result<CodeMap, CodeMapError> {
        let raw: RawMap = toml::from_str(text)
            .map_err(|e| CodeMapError(vec![format!("knowledge/fhir-codes.toml: {e}")]))?;
        let mut m = CodeMap {
            version: format!(
                "{}-{}",
                raw.version.clone().unwrap_or_default(),
                short_hash(text.as_bytes())
            ),
            ..CodeMap::default()
        };
        let mut problems = Vec::new();
        m.add(&raw, overlay, &mut problems);
        for u in &raw.unit {
            let Some(field) = Field::ALL
                .into_iter()
                .find(|f| f.unit_key() == u.field)
                .map(Field::unit_key)
            else {
                problems.push(format!("[[unit]] unknown field {}", u.field));
                continue;
            };
            let mut acc = Vec::new();
            for a in &u.accept {
                if !(a.factor.is_finite() && a.factor > 0.0) {
                    problems.push(format!("[[unit]] {}: factor must be > 0", u.field));
                }
                for unit in &a.units {
                    acc.push((norm_unit(unit), a.factor));
                }
                let _ = &a.note;
            }
            if m.units
                .insert(field, (u.canonical.clone(), u.unitless_ok, acc))
                .is_some()
            {
                problems.push(format!("[[unit]] {} declared twice", u.field));
            }
            check_sources(&raw, &u.sources, "[[unit]]", &mut problems);
        }
        for w in &raw.window {
            for f in &w.fields {
                match Field::from_path(f) {
                    Some(field) => {
                        if m.windows.insert(field, w.max_age_days).is_some() {
                            problems.push(format!("[[window]] {f} declared twice"));
                        }
                    }
                    None => problems.push(format!("[[window]] unknown field {f}")),
                }
            }
            if w.note.trim().is_empty() {
                problems.push("[[window]] without a note".into());
            }
            let _ = w.provisional;
            check_sources(&raw, &w.sources, "[[window]]", &mut problems);
        }
        for u in &raw.known_unused {
            let Some(sys) = m.system_key_of_key(&u.system) else {
                problems.push(format!("[[known_unused]] unknown system {}", u.system));
                continue;
            };
            for c in &u.codes {
                if m.observations.get(&sys).is_some_and(|o| o.contains_key(c)) {
                    problems.push(format!("{c} is both read and known_unused"));
                }
                m.unused
                    .entry(sys.clone())
                    .or_default()
                    .insert(c.clone(), u.reason);
            }
            let _ = u.status;
            check_sources(&raw, &u.sources, "[[known_unused]]", &mut problems);
        }
        for pnl in &raw.panel {
            let Some(sys) = m.system_key_of_key(&pnl.system) else {
                problems.push(format!("[[panel]] unknown system {}", pnl.system));
                continue;
            };
            let fields: Vec<Field> = pnl
                .fields
                .iter()
                .filter_map(|f| {
                    let x = Field::from_path(f);
                    if x.is_none() {
                        problems.push(format!("[[panel]] unknown field {f}"));
                    }
                    x
                })
                .collect();
            for c in &pnl.codes {
                m.panels.push((sys.clone(), c.clone(), fields.clone()));
            }
            let _ = (&pnl.note, pnl.status);
            check_sources(&raw, &pnl.sources, "[[panel]]", &mut problems);
        }
        for f in Field::ALL {
            if !m.units.contains_key(f.unit_key()) {
                problems.push(format!("no [[unit]] for {}", f.path()));
            }
            if !m.windows.contains_key(&f) {
                problems.push(format!("no [[window]] for {}", f.path()));
            }
            if !m
                .observations
                .values()
                .flat_map(HashMap::values)
                .any(|o| o.field == f)
            {
                problems.push(format!("no [[observation]] code for {}", f.path()));
            }
        }
        // Every source defined is cited, every cited source is defined.
        let cited: BTreeSet<&str> = raw
            .system
            .iter()
            .flat_map(|s| &s.sources)
            .chain(raw.condition.iter().flat_map(|s| &s.sources))
            .chain(raw.observation.iter().flat_map(|s| &s.sources))
            .chain(raw.known_unused.iter().flat_map(|s| &s.sources))
            .chain(raw.panel.iter().flat_map(|s| &s.sources))
            .chain(raw.unit.iter().flat_map(|s| &s.sources))
            .chain(raw.window.iter().flat_map(|s| &s.sources))
            .chain(raw.drug.iter().flat_map(|s| &s.sources))
            .map(String::as_str)
            .collect();
        for s in &raw.source {
            if !cited.contains(s.id.as_str()) {
                problems.push(format!("source {} is defined but not cited", s.id));
            }
            if s.citation.trim().is_empty() {
                problems.push(format!("source {} has no citation", s.id));
            }
            let _ = (&s.url, &s.status);
        }
        if problems.is_empty() {
            Ok(m)
        } else {
            Err(CodeMapError(problems))
        }
    }

    fn system_key_of_key(&self, key: &str) -> Option<String> {
        self.canonical.contains_key(key).then(|| key.to_string())
    }

    /// Adds systems, conditions, observations and drugs (the part an overlay may carry).
    fn add(&mut self, raw: &RawMap, overlay: bool, problems: &mut Vec<String>) {
        let label = if overlay { "overlay " } else { "" };
        for s in &raw.system {
            if let Some(existing) = self.canonical.get(&s.key)
                && existing != &s.uri
            {
                problems.push(format!(
                    "{label}[[system]] {} already names {existing}",
                    s.key
                ));
                continue;
            }
            self.canonical.insert(s.key.clone(), s.uri.clone());
            for u in std::iter::once(&s.uri).chain(&s.aliases) {
                if let Some(k) = self.systems.get(u)
                    && k != &s.key
                {
                    problems.push(format!("{label}system URI {u} already belongs to {k}"));
                    continue;
                }
                self.systems.insert(u.clone(), s.key.clone());
            }
            check_sources(raw, &s.sources, "[[system]]", problems);
            self.overlay_entries += usize::from(overlay);
            let _ = s.status;
        }
        for c in &raw.condition {
            let mut stems: Vec<&String> = c.stems.iter().collect();
            stems.extend(c.stem.iter());
            let mut codes: Vec<String> = c.codes.iter().map(|x| norm_code(x)).collect();
            for s in &stems {
                if c.prefix {
                    continue;
                }
                if c.seventh.is_empty() {
                    problems.push(format!("{label}[[condition]] stem {s} without seventh"));
                }
                for x in &c.seventh {
                    codes.push(norm_code(&format!("{s}{x}")));
                }
            }
            for sys in &c.systems {
                let Some(key) = self.system_key_of_key(sys) else {
                    problems.push(format!("{label}[[condition]] unknown system {sys}"));
                    continue;
                };
                if c.prefix {
                    for s in &stems {
                        self.condition_prefixes
                            .push((key.clone(), norm_code(s), c.kind));
                    }
                }
                for code in &codes {
                    match self.conditions.insert((key.clone(), code.clone()), c.kind) {
                        Some(k) if k != c.kind => problems
                            .push(format!("{label}[[condition]] {code} mapped to two kinds")),
                        Some(_) if overlay => {
                            problems.push(format!("{label}[[condition]] {code} is already mapped"))
                        }
                        _ => {}
                    }
                }
            }
            if stems.is_empty() && codes.is_empty() {
                problems.push(format!("{label}[[condition]] without codes"));
            }
            check_sources(raw, &c.sources, "[[condition]]", problems);
            self.overlay_entries += usize::from(overlay);
            let _ = (&c.note, c.status);
        }
        for o in &raw.observation {
            let Some(field) = Field::from_path(&o.field) else {
                problems.push(format!("{label}[[observation]] unknown field {}", o.field));
                continue;
            };
            let Some(key) = self.system_key_of_key(&o.system) else {
                problems.push(format!(
                    "{label}[[observation]] unknown system {}",
                    o.system
                ));
                continue;
            };
            for code in &o.codes {
                let def = ObsDef {
                    field,
                    rank: o.rank,
                    side: o.side,
                    needs_site: o.needs_site,
                };
                if self
                    .observations
                    .entry(key.clone())
                    .or_default()
                    .insert(code.trim().to_string(), def)
                    .is_some()
                {
                    problems.push(format!(
                        "{label}[[observation]] {} {code} is already mapped",
                        o.system
                    ));
                }
            }
            if o.needs_site.is_some() && field != Field::FemoralNeckT {
                problems.push(format!("{label}needs_site only applies to femoral neck"));
            }
            check_sources(raw, &o.sources, "[[observation]]", problems);
            self.overlay_entries += usize::from(overlay);
            let _ = (&o.note, o.status);
        }
        for d in &raw.drug {
            let mut entries: Vec<(String, &String)> = Vec::new();
            entries.extend(d.atc.iter().map(|c| ("atc".to_string(), c)));
            entries.extend(d.rxnorm.iter().map(|c| ("rxnorm".to_string(), c)));
            for l in &d.local {
                match self.system_key_of_key(&l.system) {
                    Some(k) => entries.extend(l.codes.iter().map(|c| (k.clone(), c))),
                    None => problems.push(format!(
                        "{label}[[drug]] {}: unknown system {}",
                        d.drug.as_str(),
                        l.system
                    )),
                }
            }
            for (sys, code) in entries {
                let key = (sys.clone(), norm_code(code));
                if let Some(prev) = self.drugs.insert(key, d.drug)
                    && (prev != d.drug || overlay)
                {
                    problems.push(format!(
                        "{label}[[drug]] {sys} {code} is already mapped to {}",
                        prev.as_str()
                    ));
                }
            }
            if !overlay && let Some(first) = d.atc.first() {
                self.drug_atc.entry(d.drug).or_insert_with(|| first.clone());
            }
            for p in &d.atc_prefixes {
                self.atc_prefixes.push((norm_code(p), d.drug));
            }
            check_sources(raw, &d.sources, "[[drug]]", problems);
            self.overlay_entries += usize::from(overlay);
            let _ = (&d.note, d.status);
        }
        // Longest prefix first (M01AH before M01A).
        self.atc_prefixes
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
    }

    /// `2026.1-<hash>` (plus `+local-<hash>` with an overlay): reported with every mapping.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// How many overlay entries were added (0 for the built-in map).
    pub fn overlay_entries(&self) -> usize {
        self.overlay_entries
    }

    /// The system key (`loinc`, `icd10cm` …) of a system URI or alias.
    pub fn system_key(&self, uri: &str) -> Option<&str> {
        self.systems.get(uri.trim()).map(String::as_str)
    }

    /// The canonical URI of a system key.
    pub fn system_uri(&self, key: &str) -> Option<&str> {
        self.canonical.get(key).map(String::as_str)
    }

    /// The fracture kind a Condition coding names.
    pub fn fracture(&self, system: &str, code: &str) -> Option<FractureKind> {
        let key = self.system_key(system)?;
        let c = norm_code(code);
        if let Some(k) = self.conditions.get(&(key.to_string(), c.clone())) {
            return Some(*k);
        }
        self.condition_prefixes
            .iter()
            .find(|(s, p, _)| s == key && c.starts_with(p.as_str()))
            .map(|(_, _, k)| *k)
    }

    /// What an Observation coding fills.
    pub fn observation(&self, system: &str, code: &str) -> Option<ObsDef> {
        let key = self.system_key(system)?;
        self.observations.get(key)?.get(code.trim()).copied()
    }

    /// A known code that is deliberately not read, with the reason.
    pub fn unused(&self, system: &str, code: &str) -> Option<UnusedReason> {
        let key = self.system_key(system)?;
        self.unused.get(key)?.get(code.trim()).copied()
    }

    /// The drug a medication coding names (ATC exact, ATC class prefix, RxNorm, local codes).
    pub fn drug(&self, system: &str, code: &str) -> Option<Drug> {
        let key = self.system_key(system)?;
        let c = norm_code(code);
        if let Some(d) = self.drugs.get(&(key.to_string(), c.clone())) {
            return Some(*d);
        }
        if key == "atc" {
            return self
                .atc_prefixes
                .iter()
                .find(|(p, _)| c.starts_with(p.as_str()))
                .map(|(_, d)| *d);
        }
        None
    }

    /// Every exact code of a drug as `(system URI, code)` (prefetch of administrations).
    pub fn drug_codes(&self, drug: Drug) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .drugs
            .iter()
            .filter(|(_, d)| **d == drug)
            .filter_map(|((s, c), _)| Some((self.canonical.get(s)?.clone(), c.clone())))
            .collect();
        out.sort();
        out
    }

    /// The ATC code written on outbound MedicationRequests.
    pub fn drug_atc(&self, drug: Drug) -> Option<&str> {
        self.drug_atc.get(&drug).map(String::as_str)
    }

    /// How a unit reads for a field (`None` unit = absent).
    pub fn unit(&self, field: Field, unit: Option<&str>) -> UnitRead {
        let Some((_, unitless_ok, acc)) = self.units.get(field.unit_key()) else {
            return UnitRead::Refused;
        };
        match unit.map(norm_unit).filter(|u| !u.is_empty()) {
            None if *unitless_ok => UnitRead::Factor(1.0),
            None => UnitRead::Refused,
            Some(u) => acc
                .iter()
                .find(|(a, _)| *a == u)
                .map_or(UnitRead::Refused, |(_, f)| UnitRead::Factor(*f)),
        }
    }

    /// The canonical unit of a field (for messages).
    pub fn canonical_unit(&self, field: Field) -> &str {
        self.units
            .get(field.unit_key())
            .map_or("", |(c, _, _)| c.as_str())
    }

    /// The accepted units of a field, as written in the map (for messages).
    pub fn accepted_units(&self, field: Field) -> Vec<String> {
        self.units
            .get(field.unit_key())
            .map(|(_, _, a)| a.iter().map(|(u, _)| u.clone()).collect())
            .unwrap_or_default()
    }

    /// The window (days) within which an observation of `field` is current.
    pub fn window_days(&self, field: Field) -> Option<u32> {
        self.windows.get(&field).copied()
    }

    /// The Observation codes per system URI the discovery templates ask for (sorted, unique).
    pub fn prefetch_codes(&self, fields: &[Field]) -> Vec<(String, String)> {
        let mut out: BTreeSet<(String, String)> = BTreeSet::new();
        for (sys, codes) in &self.observations {
            for (code, def) in codes {
                if fields.contains(&def.field)
                    && let Some(uri) = self.canonical.get(sys)
                {
                    out.insert((uri.clone(), code.clone()));
                }
            }
        }
        for (sys, code, pf) in &self.panels {
            if pf.iter().any(|f| fields.contains(f))
                && let Some(uri) = self.canonical.get(sys)
            {
                out.insert((uri.clone(), code.clone()));
            }
        }
        out.into_iter().collect()
    }

    /// Every `(system URI, code, field)` of the observation map (round-trip tests).
    pub fn observation_entries(&self) -> Vec<(String, String, ObsDef)> {
        let mut out: Vec<(String, String, ObsDef)> = self
            .observations
            .iter()
            .flat_map(|(s, codes)| codes.iter().map(move |(c, d)| (s, c, d)))
            .filter_map(|(s, c, d)| Some((self.canonical.get(s)?.clone(), c.clone(), *d)))
            .collect();
        out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        out
    }

    /// Every `(system URI, code, drug)` of exact drug codes (round-trip tests).
    pub fn drug_entries(&self) -> Vec<(String, String, Drug)> {
        let mut out: Vec<(String, String, Drug)> = self
            .drugs
            .iter()
            .filter_map(|((s, c), d)| Some((self.canonical.get(s)?.clone(), c.clone(), *d)))
            .collect();
        out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        out
    }

    /// Every `(system URI, normalised code, kind)` of exact condition codes.
    pub fn condition_entries(&self) -> Vec<(String, String, FractureKind)> {
        let mut out: Vec<(String, String, FractureKind)> = self
            .conditions
            .iter()
            .filter_map(|((s, c), k)| Some((self.canonical.get(s)?.clone(), c.clone(), *k)))
            .collect();
        out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        out
    }
}

fn check_sources(raw: &RawMap, cited: &[String], what: &str, problems: &mut Vec<String>) {
    if cited.is_empty() {
        problems.push(format!("{what} entry without sources"));
    }
    for c in cited {
        if !raw.source.iter().any(|s| &s.id == c) {
            problems.push(format!("{what} cites undefined source {c}"));
        }
    }
}

fn short_hash(bytes: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    d.as_ref()[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// Problems of the built-in code map (empty when sound; a test checks it).
pub fn builtin_problems() -> Vec<String> {
    match CodeMap::parse(CODES_TOML, false) {
        Ok(_) => Vec::new(),
        Err(e) => e.0,
    }
}

static ACTIVE: OnceLock<CodeMap> = OnceLock::new();

/// Installs the process's code map (the built-in map plus a hospital overlay) before the first
/// mapping; refused when one was already installed or used.
pub fn install(map: CodeMap) -> Result<(), CodeMapError> {
    ACTIVE
        .set(map)
        .map_err(|_| CodeMapError(vec!["a code map is already in use".into()]))
}

/// The code map in use: the installed one, else the built-in map.
pub fn active() -> &'static CodeMap {
    ACTIVE.get_or_init(|| CodeMap::builtin().clone())
}
