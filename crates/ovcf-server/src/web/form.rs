//! The assessment form, driven by the AssessmentRequest JSON Schema.
//!
//! One declaration: the request's Rust types generate the JSON Schema (`ovcf schema request`),
//! and this module reads that schema for every field's kind, enumeration and accepted range, so
//! the form cannot drift from the contract. What the schema does not say — the order in which a
//! clinician thinks, the unit shown beside a field — is in [`LAYOUT`], and a test fails when a
//! schema field is missing from it.
//!
//! Inputs are named by their JSON path (`fractures[0].mri.t1`), so the engine's validation
//! errors (which carry the same paths) land on the field that caused them. An empty input is
//! *absent*, never a default: a required clinical field left empty is an error from the engine.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use serde_json::{Map, Value};

/// What an input holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Integer {
        min: Option<f64>,
        max: Option<f64>,
    },
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    /// Yes / no / not stated.
    Bool,
    /// One of `values` (the enumeration's schema name in `def`).
    Enum {
        def: String,
        values: Vec<String>,
    },
    /// Any subset of `values`.
    EnumSet {
        def: String,
        values: Vec<String>,
    },
    Date,
    Text {
        max_len: Option<u64>,
    },
    Object,
    /// A repeated object (`fractures[]`).
    Array,
}

/// One field of the request, by its path template (`fractures[].mri.t1`).
#[derive(Debug, Clone)]
pub struct Field {
    pub template: String,
    pub kind: Kind,
    pub required: bool,
}

/// Every field of the request schema, by template.
pub struct Spec {
    pub fields: BTreeMap<String, Field>,
}

static SPEC: LazyLock<Spec> = LazyLock::new(|| {
    let schema = ovcf_core::schema_of::<ovcf_core::AssessmentRequest>();
    Spec::from_schema(&schema)
});

/// The request form's fields.
pub fn spec() -> &'static Spec {
    &SPEC
}

fn resolve<'a>(root: &'a Value, node: &'a Value) -> (&'a Value, Option<String>) {
    // `{"$ref": …}` or `{"anyOf": [{"$ref": …}, {"type": "null"}]}`.
    let reference = node.get("$ref").and_then(Value::as_str).or_else(|| {
        node.get("anyOf")
            .and_then(Value::as_array)
            .and_then(|alts| {
                alts.iter()
                    .find_map(|a| a.get("$ref").and_then(Value::as_str))
            })
    });
    match reference.and_then(|r| r.strip_prefix("#/$defs/")) {
        Some(name) => match root.get("$defs").and_then(|d| d.get(name)) {
            Some(def) => (def, Some(name.to_owned())),
            None => (node, None),
        },
        None => (node, None),
    }
}

fn types(node: &Value) -> Vec<&str> {
    match node.get("type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn enum_values(node: &Value) -> Option<Vec<String>> {
    node.get("enum").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

impl Spec {
    fn from_schema(root: &Value) -> Spec {
        let mut fields = BTreeMap::new();
        walk_object(root, root, "", true, &mut fields);
        Spec { fields }
    }

    pub fn get(&self, template: &str) -> Option<&Field> {
        self.fields.get(template)
    }
}

/// `present`: whether the object is always there when the form is filled (the root, a required
/// object, an item of a repeated block the user added). A field required inside an optional
/// object (e.g. `procedure.type`) is required only once that object is given, so the form does
/// not mark it.
fn walk_object(
    root: &Value,
    obj: &Value,
    prefix: &str,
    present: bool,
    out: &mut BTreeMap<String, Field>,
) {
    let required: Vec<&str> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = obj.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, node) in props {
        let template = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let (target, def) = resolve(root, node);
        let ty = types(target);
        let kind = if let Some(values) = enum_values(target) {
            Kind::Enum {
                def: def.unwrap_or_default(),
                values,
            }
        } else if ty.contains(&"array") {
            let items = target.get("items").unwrap_or(&Value::Null);
            let (item, item_def) = resolve(root, items);
            if let Some(values) = enum_values(item) {
                Kind::EnumSet {
                    def: item_def.unwrap_or_default(),
                    values,
                }
            } else {
                walk_object(root, item, &format!("{template}[]"), true, out);
                Kind::Array
            }
        } else if ty.contains(&"object") || target.get("properties").is_some() {
            walk_object(
                root,
                target,
                &template,
                present && required.contains(&name.as_str()),
                out,
            );
            Kind::Object
        } else if ty.contains(&"integer") {
            Kind::Integer {
                min: target.get("minimum").and_then(Value::as_f64),
                max: target.get("maximum").and_then(Value::as_f64),
            }
        } else if ty.contains(&"number") {
            Kind::Number {
                min: target.get("minimum").and_then(Value::as_f64),
                max: target.get("maximum").and_then(Value::as_f64),
            }
        } else if ty.contains(&"boolean") {
            Kind::Bool
        } else if target.get("format").and_then(Value::as_str) == Some("date") {
            Kind::Date
        } else {
            Kind::Text {
                max_len: target.get("maxLength").and_then(Value::as_u64),
            }
        };
        out.insert(
            template.clone(),
            Field {
                template,
                kind,
                required: present && required.contains(&name.as_str()),
            },
        );
    }
}

/// One laid-out field: its path template and the i18n key of its unit.
pub type FieldLayout = (&'static str, Option<&'static str>);
/// A group of the form: its name and its fields.
pub type Group = (&'static str, &'static [FieldLayout]);

/// Groups of the form in the order a clinician fills them, each a list of field templates.
/// A template ending in `[]` is a repeated block laid out by the fields that follow with its
/// prefix. Units are i18n keys (`unit.*`).
pub const LAYOUT: &[Group] = &[
    (
        "patient",
        &[
            ("patient.age", Some("unit.years")),
            ("patient.sex", None),
            ("patient.neurological_deficit", None),
            ("patient.asa_class", None),
            ("patient.surgical_tolerance", None),
            ("patient.modified_frailty_index", Some("unit.points")),
            ("patient.comorbidities", None),
            ("patient.adherence", None),
            ("patient.prior_fragility_fractures", Some("unit.count")),
            ("patient.prior_vertebral_fractures", Some("unit.count")),
            ("patient.nonunion_risk", None),
            ("patient.mobilisation_under_analgesia", None),
        ],
    ),
    (
        "fractures",
        &[
            ("fractures[].level", None),
            ("fractures[].onset_days", Some("unit.days")),
            ("fractures[].pain_vas", Some("unit.vas")),
            ("fractures[].imaging", None),
            ("fractures[].mri.t1", None),
            ("fractures[].mri.t2", None),
            ("fractures[].mri.stir", None),
            ("fractures[].height_loss_pct", Some("unit.pct")),
            ("fractures[].morphometry.anterior_mm", Some("unit.mm")),
            ("fractures[].morphometry.middle_mm", Some("unit.mm")),
            ("fractures[].morphometry.posterior_mm", Some("unit.mm")),
            ("fractures[].morphometry.reference_mm", Some("unit.mm")),
            ("fractures[].kyphotic_angle_deg", Some("unit.deg")),
            ("fractures[].posterior_wall", None),
            ("fractures[].anterior_cortex_breach", None),
            ("fractures[].intravertebral_cleft", None),
            ("fractures[].of_type", None),
            ("fractures[].deformity_progression", None),
            ("fractures[].malignancy_signs", None),
            ("fractures[].finding_source.method", None),
            ("fractures[].finding_source.device", None),
            ("fractures[].finding_source.version", None),
            (
                "fractures[].finding_source.confidence",
                Some("unit.fraction"),
            ),
        ],
    ),
    (
        "bone_density",
        &[
            ("bone_density.dxa.lumbar_spine_t", Some("unit.sd")),
            ("bone_density.dxa.femoral_neck_t", Some("unit.sd")),
            ("bone_density.dxa.total_hip_t", Some("unit.sd")),
            ("bone_density.dxa_confounders", None),
            ("bone_density.qct_vbmd_mg_cm3", Some("unit.mg_cm3")),
            ("bone_density.ct_hu_l1", Some("unit.hu")),
        ],
    ),
    (
        "labs",
        &[
            ("labs.egfr_ml_min", Some("unit.ml_min_173")),
            ("labs.crcl_ml_min", Some("unit.ml_min")),
            ("labs.calcium_mmol_l", Some("unit.mmol_l")),
            ("labs.vitamin_d_nmol_l", Some("unit.nmol_l")),
            ("labs.p1np_ug_l", Some("unit.ug_l")),
            ("labs.ctx_ng_ml", Some("unit.ng_ml")),
            ("clearances.ckd_mbd", None),
            ("clearances.dental", None),
        ],
    ),
    (
        "medications",
        &[
            ("medications[].drug", None),
            ("medications[].start", None),
            ("medications[].last_dose", None),
            ("medications[].end", None),
        ],
    ),
    (
        "procedure",
        &[
            ("procedure.type", None),
            ("procedure.level", None),
            ("procedure.date", None),
            ("procedure.cement_volume_ml", Some("unit.ml")),
            ("procedure.vertebral_body_volume_ml", Some("unit.ml")),
            ("procedure.height_restoration_pct", Some("unit.pct")),
            ("procedure.cement_leakage", None),
        ],
    ),
    (
        "risk_tools",
        &[
            ("risk_tools[].tool", None),
            ("risk_tools[].version", None),
            ("risk_tools[].date", None),
            ("risk_tools[].major_osteoporotic_10y_pct", Some("unit.pct")),
            ("risk_tools[].hip_10y_pct", Some("unit.pct")),
            ("risk_tools[].category", None),
        ],
    ),
    (
        "context",
        &[
            ("as_of", None),
            ("phase", None),
            ("preferences.priority", None),
        ],
    ),
];

/// The i18n key of a field's label: `form.f.` + template without `[]`.
pub fn label_key(template: &str) -> String {
    format!("form.f.{}", template.replace("[]", ""))
}

/// The i18n key of an enumeration value's label.
pub fn value_key(def: &str, value: &str) -> String {
    match def {
        "Drug" => format!("drug.{value}"),
        "Phase" => format!("phase.{value}"),
        "FindingMethod" => format!("finding_method.{value}"),
        _ => format!("form.v.{}.{value}", snake(def)),
    }
}

/// Enumerations whose codes are shown as they are (vertebral levels).
pub fn shows_code(def: &str) -> bool {
    def == "Level"
}

fn snake(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A form value that could not be read; `path` is the input's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    pub path: String,
    pub message_key: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// At most this many entries in one repeated block (levels T1–L5 are 17).
const MAX_INDEX: usize = 32;

fn parse_path(name: &str) -> Option<Vec<Seg>> {
    let mut segs = Vec::new();
    for part in name.split('.') {
        let (key, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() {
            return None;
        }
        segs.push(Seg::Key(key.to_owned()));
        if !rest.is_empty() {
            let idx = rest
                .strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<usize>()
                .ok()?;
            if idx >= MAX_INDEX {
                return None;
            }
            segs.push(Seg::Index(idx));
        }
    }
    Some(segs)
}

fn template_of(segs: &[Seg]) -> String {
    let mut t = String::new();
    for s in segs {
        match s {
            Seg::Key(k) => {
                if !t.is_empty() {
                    t.push('.');
                }
                t.push_str(k);
            }
            Seg::Index(_) => t.push_str("[]"),
        }
    }
    t
}

fn insert(root: &mut Value, segs: &[Seg], value: Value, append: bool) {
    let Some((first, rest)) = segs.split_first() else {
        return;
    };
    let slot: &mut Value = match first {
        Seg::Key(k) => {
            if !root.is_object() {
                *root = Value::Object(Map::new());
            }
            let Value::Object(map) = root else { return };
            map.entry(k.clone()).or_insert(Value::Null)
        }
        Seg::Index(i) => {
            if !root.is_array() {
                *root = Value::Array(Vec::new());
            }
            let Value::Array(arr) = root else { return };
            // Gaps (a block removed in the browser) become empty objects, which the engine
            // then reports field by field rather than silently renumbering.
            while arr.len() <= *i {
                arr.push(Value::Object(Map::new()));
            }
            &mut arr[*i]
        }
    };
    if rest.is_empty() {
        if append {
            match slot {
                Value::Array(a) => a.push(value),
                _ => *slot = Value::Array(vec![value]),
            }
        } else {
            *slot = value;
        }
    } else {
        insert(slot, rest, value, append);
    }
}

/// Reads the posted pairs into a request JSON value. Pairs whose name is not a request field
/// (`csrf`, buttons) are ignored; empty values are absent. Values that cannot be read as their
/// kind (a word in a number field) are reported by field and left out of the value.
pub fn to_request(pairs: &[(String, String)]) -> (Value, Vec<FormError>) {
    let spec = spec();
    let mut root = Value::Object(Map::new());
    let mut errors = Vec::new();
    let mut error = |path: &str, key: &'static str| {
        errors.push(FormError {
            path: path.to_owned(),
            message_key: key,
        });
    };
    for (name, raw) in pairs {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let Some(segs) = parse_path(name) else {
            continue;
        };
        let Some(field) = spec.get(&template_of(&segs)) else {
            continue;
        };
        let (value, append) = match &field.kind {
            Kind::Integer { .. } => match raw.parse::<i64>() {
                Ok(n) => (Value::from(n), false),
                Err(_) => {
                    error(name, "form.err.integer");
                    continue;
                }
            },
            Kind::Number { .. } => match raw.parse::<f64>() {
                Ok(x) if x.is_finite() => match serde_json::Number::from_f64(x) {
                    Some(n) => (Value::Number(n), false),
                    None => {
                        error(name, "form.err.number");
                        continue;
                    }
                },
                _ => {
                    error(name, "form.err.number");
                    continue;
                }
            },
            Kind::Bool => match raw {
                "true" => (Value::Bool(true), false),
                "false" => (Value::Bool(false), false),
                _ => {
                    error(name, "form.err.choice");
                    continue;
                }
            },
            // Enumerations go to the engine as given: it names the accepted values.
            Kind::Enum { .. } | Kind::Date | Kind::Text { .. } => {
                (Value::String(raw.to_owned()), false)
            }
            Kind::EnumSet { .. } => (Value::String(raw.to_owned()), true),
            Kind::Object | Kind::Array => continue,
        };
        insert(&mut root, &segs, value, append);
    }
    (root, errors)
}

/// The posted values by input name (for re-filling the form after errors).
pub fn values_by_name(pairs: &[(String, String)]) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in pairs {
        out.entry(k.clone()).or_default().push(v.clone());
    }
    out
}

/// Flattens a request JSON value to input names and values (to fill the form from a saved or
/// example request).
pub fn flatten(value: &Value) -> HashMap<String, Vec<String>> {
    fn go(v: &Value, path: &str, out: &mut HashMap<String, Vec<String>>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    go(x, &p, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    match x {
                        Value::Object(_) => go(x, &format!("{path}[{i}]"), out),
                        other => go(other, path, out),
                    }
                }
            }
            Value::String(s) => out.entry(path.to_owned()).or_default().push(s.clone()),
            Value::Number(n) => out.entry(path.to_owned()).or_default().push(n.to_string()),
            Value::Bool(b) => out.entry(path.to_owned()).or_default().push(b.to_string()),
            Value::Null => {}
        }
    }
    let mut out = HashMap::new();
    go(value, "", &mut out);
    out
}

/// How many blocks of the repeated group `group` the values hold.
pub fn block_count(values: &HashMap<String, Vec<String>>, group: &str) -> usize {
    let prefix = format!("{group}[");
    values
        .keys()
        .filter_map(|k| k.strip_prefix(&prefix))
        .filter_map(|r| r.split(']').next())
        .filter_map(|i| i.parse::<usize>().ok())
        .map(|i| i + 1)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn every_schema_field_is_laid_out() {
        let laid: Vec<&str> = LAYOUT
            .iter()
            .flat_map(|(_, fs)| fs.iter().map(|(t, _)| *t))
            .collect();
        for (t, f) in &spec().fields {
            if matches!(f.kind, Kind::Object | Kind::Array) {
                continue;
            }
            assert!(laid.contains(&t.as_str()), "{t} is not in the form layout");
        }
        for t in &laid {
            assert!(
                spec().get(t).is_some(),
                "{t} is laid out but not in the schema"
            );
        }
    }

    #[test]
    fn kinds_come_from_the_schema() {
        let s = spec();
        assert!(matches!(
            s.get("patient.age").map(|f| &f.kind),
            Some(Kind::Integer {
                min: Some(18.0),
                max: Some(120.0)
            })
        ));
        assert!(matches!(
            s.get("fractures[].imaging").map(|f| &f.kind),
            Some(Kind::EnumSet { .. })
        ));
        assert!(matches!(
            s.get("fractures[].mri.t1").map(|f| &f.kind),
            Some(Kind::Enum { .. })
        ));
        assert!(matches!(
            s.get("medications[].start").map(|f| &f.kind),
            Some(Kind::Date)
        ));
        assert!(matches!(
            s.get("patient.nonunion_risk").map(|f| &f.kind),
            Some(Kind::Bool)
        ));
        assert!(
            s.get("patient.neurological_deficit")
                .is_some_and(|f| f.required)
        );
        assert!(s.get("fractures[].level").is_some_and(|f| f.required));
        // Required only once the optional object is given.
        assert!(s.get("procedure.type").is_some_and(|f| !f.required));
        assert!(
            s.get("fractures[].morphometry.anterior_mm")
                .is_some_and(|f| !f.required)
        );
    }

    #[test]
    fn pairs_become_a_request() {
        let (v, errs) = to_request(&pairs(&[
            ("csrf", "x"),
            ("patient.age", "78"),
            ("patient.sex", "female"),
            ("patient.asa_class", ""),
            ("fractures[0].level", "L1"),
            ("fractures[0].imaging", "xray"),
            ("fractures[0].imaging", "mri"),
            ("fractures[0].pain_vas", "7.5"),
            ("fractures[0].mri.stir", "hyperintense"),
            ("patient.nonunion_risk", "false"),
        ]));
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(
            v,
            serde_json::json!({
                "patient": {"age": 78, "sex": "female", "nonunion_risk": false},
                "fractures": [{"level": "L1", "imaging": ["xray", "mri"], "pain_vas": 7.5,
                               "mri": {"stir": "hyperintense"}}]
            })
        );
    }

    #[test]
    fn unreadable_numbers_are_named_not_defaulted() {
        let (v, errs) = to_request(&pairs(&[
            ("patient.age", "old"),
            ("fractures[1].pain_vas", "NaN"),
        ]));
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0].path, "patient.age");
        assert_eq!(errs[1].path, "fractures[1].pain_vas");
        assert!(v.get("patient").is_none());
    }

    #[test]
    fn hostile_names_are_ignored() {
        let (v, errs) = to_request(&pairs(&[
            ("fractures[99999999999].level", "L1"),
            ("fractures[40].level", "L1"),
            ("__proto__.x", "1"),
            ("patient..age", "1"),
            ("patient.age[0]", "1"),
        ]));
        assert!(errs.is_empty());
        assert_eq!(v, serde_json::json!({}));
    }

    #[test]
    fn flatten_round_trips() {
        let req = serde_json::json!({
            "patient": {"age": 70, "sex": "male", "neurological_deficit": "none"},
            "fractures": [{"level": "T12", "imaging": ["mri"]}, {"level": "L1"}]
        });
        let flat = flatten(&req);
        let mut p: Vec<(String, String)> = flat
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v.clone())))
            .collect();
        p.sort();
        let (back, errs) = to_request(&p);
        assert!(errs.is_empty());
        assert_eq!(back, req);
        assert_eq!(block_count(&flat, "fractures"), 2);
    }
}
