//! Parse, then validate: raw JSON → [`ValidRequest`], a request that satisfies every range and
//! cross-field rule of the contract, or *every* error found, each with its JSON path
//! (`fractures[0].level`), the value given and what is accepted.
//!
//! The ranges live once, in the `schemars` attributes of [`crate::request`]: the published JSON
//! Schema is generated from them and this module validates against that same schema. The fast
//! path (a valid request) runs one schema check and one typed deserialisation; the slow path
//! collects all schema errors.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use jsonschema::error::ValidationErrorKind;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::date::Date;
use crate::request::{AssessmentRequest, Level, Phase};

/// One offending field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct FieldError {
    /// JSON path in the contract's notation, e.g. `fractures[0].level`; empty for the whole body.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A request that passed validation; only [`validate_json`] and [`validate_value`] make one, so
/// rules never re-check ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRequest {
    request: AssessmentRequest,
    as_of: Date,
}

impl ValidRequest {
    pub fn request(&self) -> &AssessmentRequest {
        &self.request
    }

    /// `as_of` of the request, or the caller's today when absent.
    pub fn as_of(&self) -> Date {
        self.as_of
    }

    pub fn into_request(self) -> AssessmentRequest {
        self.request
    }
}

/// The JSON Schema of a type, as published by `ovcf schema`.
pub fn schema_of<T: JsonSchema>() -> Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>();
    serde_json::to_value(schema).unwrap_or(Value::Null)
}

struct SchemaIndex {
    validator: Result<jsonschema::Validator, String>,
    /// Accepted values per field pattern (`fractures[].level` → "one of: T1, …").
    accepted: BTreeMap<String, String>,
}

static REQUEST_SCHEMA: LazyLock<SchemaIndex> = LazyLock::new(|| {
    let schema = schema_of::<AssessmentRequest>();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| e.to_string());
    let mut accepted = BTreeMap::new();
    describe(&schema, &schema, String::new(), &mut accepted, 0);
    SchemaIndex {
        validator,
        accepted,
    }
});

fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .unwrap_or(node),
        None => node,
    }
}

/// Walks the schema once and writes, for every field, what it accepts in words.
fn describe(
    root: &Value,
    node: &Value,
    path: String,
    out: &mut BTreeMap<String, String>,
    depth: u8,
) {
    if depth > 12 {
        return;
    }
    let node = resolve(root, node);
    if let Some(any) = node.get("anyOf").and_then(Value::as_array) {
        for branch in any {
            let b = resolve(root, branch);
            if b.get("type").and_then(Value::as_str) != Some("null") {
                describe(root, b, path.clone(), out, depth + 1);
            }
        }
        return;
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        let names: Vec<&str> = props.keys().map(String::as_str).collect();
        out.insert(format!("{path}{{}}"), names.join(", "));
        for (name, sub) in props {
            let p = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            describe(root, sub, p, out, depth + 1);
        }
        return;
    }
    if let Some(items) = node.get("items") {
        let mut d = String::from("array");
        if let Some(max) = node.get("maxItems").and_then(Value::as_u64) {
            let min = node.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            d = format!("array of {min}–{max} items");
        }
        out.insert(path.clone(), d);
        describe(root, items, format!("{path}[]"), out, depth + 1);
        return;
    }
    let desc = describe_leaf(node);
    if !desc.is_empty() {
        out.insert(path, desc);
    }
}

fn describe_leaf(node: &Value) -> String {
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        let v: Vec<String> = values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        return format!("one of: {}", v.join(", "));
    }
    if let Some(one) = node.get("oneOf").and_then(Value::as_array) {
        let v: Vec<String> = one
            .iter()
            .filter_map(|b| b.get("const").and_then(Value::as_str).map(str::to_owned))
            .collect();
        if !v.is_empty() {
            return format!("one of: {}", v.join(", "));
        }
    }
    let kind = match node.get("type") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => String::new(),
    };
    if node.get("format").and_then(Value::as_str) == Some("date") {
        return "a date YYYY-MM-DD".into();
    }
    let num = |k: &str| node.get(k).and_then(Value::as_f64);
    let (lo, xlo, hi) = (num("minimum"), num("exclusiveMinimum"), num("maximum"));
    let fmt = |x: f64| {
        if x.fract() == 0.0 {
            format!("{x:.0}")
        } else {
            format!("{x}")
        }
    };
    let kind = if kind == "integer" && lo == Some(0.0) {
        "integer".to_owned()
    } else {
        kind
    };
    match (lo, xlo, hi) {
        (Some(lo), _, Some(hi)) => format!("{kind} {}–{}", fmt(lo), fmt(hi)),
        (_, Some(xlo), Some(hi)) => format!("{kind} > {} and ≤ {}", fmt(xlo), fmt(hi)),
        (Some(lo), _, None) => format!("{kind} ≥ {}", fmt(lo)),
        (None, None, Some(hi)) => format!("{kind} ≤ {}", fmt(hi)),
        _ if kind == "boolean" => "true or false".into(),
        _ => kind,
    }
}

/// `/fractures/0/level` → (`fractures[0].level`, `fractures[].level`).
fn pointer_to_path(pointer: &str) -> (String, String) {
    let mut path = String::new();
    let mut pattern = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.chars().all(|c| c.is_ascii_digit()) && !seg.is_empty() {
            path.push_str(&format!("[{seg}]"));
            pattern.push_str("[]");
        } else {
            if !path.is_empty() {
                path.push('.');
                pattern.push('.');
            }
            path.push_str(&seg);
            pattern.push_str(&seg);
        }
    }
    (path, pattern)
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn accepted_for(pattern: &str) -> Option<&'static String> {
    REQUEST_SCHEMA.accepted.get(pattern)
}

fn with_accepted(message: String, pattern: &str) -> String {
    match accepted_for(pattern) {
        Some(a) => format!("{message}; accepted: {a}"),
        None => message,
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn map_schema_error(e: &jsonschema::ValidationError<'_>, out: &mut Vec<FieldError>) {
    let (path, pattern) = pointer_to_path(e.instance_path().as_str());
    match e.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let p = join(&path, name);
            let pat = join(&pattern, name);
            out.push(FieldError {
                message: with_accepted("required field is missing".into(), &pat),
                path: p,
            });
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for name in unexpected {
                let allowed = accepted_for(&format!("{pattern}{{}}"))
                    .map(|a| format!("; fields accepted here: {a}"))
                    .unwrap_or_default();
                out.push(FieldError {
                    path: join(&path, name),
                    message: format!(
                        "unknown field (a misspelt clinical field is never ignored){allowed}"
                    ),
                });
            }
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            // Optional fields are `anyOf [T, null]`: report the errors of the non-null branch.
            // The null branch fails with one type error at this very instance; a type error
            // deeper down (`labs.vitamin_d_nmol_l` inside `labs`) belongs to the other branch and
            // is reported at its own full path (rule 11.28.19).
            let here = e.instance_path().as_str();
            let branch = context.iter().find(|errs| {
                !errs.iter().any(|x| {
                    matches!(x.kind(), ValidationErrorKind::Type { .. })
                        && x.instance_path().as_str() == here
                        && x.to_string().contains("\"null\"")
                })
            });
            match branch {
                Some(errs) if !errs.is_empty() => {
                    for x in errs {
                        map_schema_error(x, out);
                    }
                }
                _ => out.push(FieldError {
                    message: with_accepted(
                        format!("{} is not accepted", short(e.instance())),
                        &pattern,
                    ),
                    path,
                }),
            }
        }
        _ => {
            let msg = e.to_string();
            out.push(FieldError {
                message: with_accepted(msg, &pattern),
                path,
            });
        }
    }
}

/// Parses and validates a request. `today` stands in for an absent `as_of`.
pub fn validate_json(json: &str, today: Date) -> Result<ValidRequest, Vec<FieldError>> {
    let value: Value = serde_json::from_str(json).map_err(|e| {
        vec![FieldError {
            path: String::new(),
            message: format!("the body is not valid JSON: {e}"),
        }]
    })?;
    validate_value(&value, today)
}

/// Validates an already parsed JSON value.
pub fn validate_value(value: &Value, today: Date) -> Result<ValidRequest, Vec<FieldError>> {
    let index = &*REQUEST_SCHEMA;
    let validator = index.validator.as_ref().map_err(|e| {
        vec![FieldError {
            path: String::new(),
            message: format!("internal error: request schema does not compile: {e}"),
        }]
    })?;
    if !validator.is_valid(value) {
        let mut errors = Vec::new();
        for e in validator.iter_errors(value) {
            map_schema_error(&e, &mut errors);
        }
        errors.dedup();
        if errors.is_empty() {
            errors.push(FieldError {
                path: String::new(),
                message: "the request does not match the contract".into(),
            });
        }
        // Rule 11.28.19: cross-field errors are reported together with every other error,
        // whenever the fields they compare are valid themselves.
        let cross = cross_field_errors(value, today, &errors);
        errors.extend(cross);
        return Err(errors);
    }
    let errors = cross_field_errors(value, today, &[]);
    if !errors.is_empty() {
        return Err(errors);
    }
    let request = AssessmentRequest::deserialize_from(value).map_err(|e| {
        vec![FieldError {
            path: String::new(),
            message: e.to_string(),
        }]
    })?;
    let as_of = request.as_of.unwrap_or(today);
    Ok(ValidRequest { request, as_of })
}

impl AssessmentRequest {
    fn deserialize_from(value: &Value) -> Result<AssessmentRequest, serde_json::Error> {
        serde::Deserialize::deserialize(value)
    }
}

/// The value at `path` of `v` as a `T`, or `None` when it is absent, null, of another type, or
/// named by a schema error (itself, an enclosing object, or the whole body): rule 11.28.19 skips
/// a cross-field check whose inputs are invalid.
fn valid_at<'v, T: serde::Deserialize<'v>>(
    v: Option<&'v Value>,
    path: &str,
    invalid: &[FieldError],
) -> Option<T> {
    let v = v.filter(|v| !v.is_null())?;
    let named = invalid.iter().any(|e| {
        e.path.is_empty()
            || e.path == path
            || path
                .strip_prefix(e.path.as_str())
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    });
    if named {
        return None;
    }
    T::deserialize(v).ok()
}

/// Rules that a JSON Schema cannot say: unique levels, counts that must agree, dates in order.
/// They read the JSON value, so that they also run next to schema errors (rule 11.28.19).
fn cross_field_errors(v: &Value, today: Date, invalid: &[FieldError]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut err = |path: String, message: String| errors.push(FieldError { path, message });
    let empty = Vec::new();
    let fractures = v
        .get("fractures")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let levels: Vec<Option<Level>> = fractures
        .iter()
        .enumerate()
        .map(|(i, f)| valid_at(f.get("level"), &format!("fractures[{i}].level"), invalid))
        .collect();
    for (i, level) in levels.iter().enumerate() {
        let Some(level) = level else { continue };
        if let Some(j) = levels[..i].iter().position(|g| g.as_ref() == Some(level)) {
            err(
                format!("fractures[{i}].level"),
                format!(
                    "\"{level}\" is already given at fractures[{j}]; accepted: each vertebral level once"
                ),
            );
        }
    }
    let patient = v.get("patient");
    let vertebral: Option<u32> = valid_at(
        patient.and_then(|p| p.get("prior_vertebral_fractures")),
        "patient.prior_vertebral_fractures",
        invalid,
    );
    let fragility: Option<u32> = valid_at(
        patient.and_then(|p| p.get("prior_fragility_fractures")),
        "patient.prior_fragility_fractures",
        invalid,
    );
    if let (Some(n), Some(all)) = (vertebral, fragility)
        && n > all
    {
        err(
            "patient.prior_vertebral_fractures".into(),
            format!(
                "{n} exceeds patient.prior_fragility_fractures ({all}); accepted: at most the number of prior fragility fractures (vertebral ones are among them)"
            ),
        );
    }
    // `as_of` absent: the caller's today; given but invalid: the checks against it are skipped.
    let as_of: Option<Date> = match v.get("as_of").filter(|x| !x.is_null()) {
        None => Some(today),
        Some(x) => valid_at(Some(x), "as_of", invalid),
    };
    let meds = v
        .get("medications")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    for (i, m) in meds.iter().enumerate() {
        let at = |field: &str| format!("medications[{i}].{field}");
        let start: Option<Date> = valid_at(m.get("start"), &at("start"), invalid);
        let end: Option<Date> = valid_at(m.get("end"), &at("end"), invalid);
        let last: Option<Date> = valid_at(m.get("last_dose"), &at("last_dose"), invalid);
        if let (Some(start), Some(end)) = (start, end)
            && end < start
        {
            err(
                at("end"),
                format!("{end} is before start {start}; accepted: a date on or after start"),
            );
        }
        let Some(last) = last else { continue };
        if let Some(start) = start
            && last < start
        {
            err(
                at("last_dose"),
                format!("{last} is before start {start}; accepted: a date on or after start"),
            );
        }
        if let Some(as_of) = as_of
            && last > as_of
        {
            err(
                at("last_dose"),
                format!("{last} is after as_of {as_of}; accepted: a date on or before as_of"),
            );
        }
        if let Some(end) = end
            && last > end
        {
            err(
                at("last_dose"),
                format!("{last} is after end {end}; accepted: a date on or before end"),
            );
        }
    }
    if let Some(proc_) = v.get("procedure").filter(|p| p.is_object()) {
        let level: Option<Level> = valid_at(proc_.get("level"), "procedure.level", invalid);
        if let Some(level) = level
            && levels.iter().all(Option::is_some)
            && !levels.contains(&Some(level))
        {
            let names: Vec<&str> = levels.iter().flatten().map(|l| l.as_str()).collect();
            err(
                "procedure.level".into(),
                format!(
                    "\"{level}\" is not among the fractured levels; accepted: one of {}",
                    names.join(", ")
                ),
            );
        }
        let given = |k: &str| proc_.get(k).is_some_and(|x| !x.is_null());
        let phase: Option<Phase> = match v.get("phase").filter(|x| !x.is_null()) {
            None => Some(Phase::Initial),
            Some(x) => valid_at(Some(x), "phase", invalid),
        };
        if !given("date")
            && let Some(phase) = phase
        {
            let why = if phase != Phase::Initial {
                Some("phase is not initial")
            } else if given("cement_leakage") {
                Some("cement_leakage is given")
            } else if given("height_restoration_pct") {
                Some("height_restoration_pct is given")
            } else {
                None
            };
            if let Some(why) = why {
                err(
                    "procedure.date".into(),
                    format!(
                        "required field is missing ({why}: the procedure was performed, rule 10.14); accepted: a date YYYY-MM-DD"
                    ),
                );
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::new(2026, 11, 24).unwrap_or_else(|| unreachable!())
    }

    fn errors(json: &str) -> Vec<FieldError> {
        match validate_json(json, today()) {
            Ok(_) => Vec::new(),
            Err(e) => e,
        }
    }

    fn paths(json: &str) -> Vec<String> {
        errors(json).into_iter().map(|e| e.path).collect()
    }

    const MINIMAL: &str = r#"{"patient":{"age":70,"sex":"female","neurological_deficit":"none"},
        "fractures":[{"level":"L1"}]}"#;

    #[test]
    fn minimal_request_is_valid_and_as_of_defaults_to_today() {
        let v = validate_json(MINIMAL, today()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(v.as_of(), today());
    }

    #[test]
    fn every_error_is_collected_with_its_path() {
        let json = r#"{"patient":{"age":150,"sex":"female","neurological_deficit":"none","extra":1},
            "fractures":[{"level":"L9","pain_vas":11,"height_loss_pct":"x"}]}"#;
        let e = errors(json);
        let p: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
        for want in [
            "patient.age",
            "patient.extra",
            "fractures[0].level",
            "fractures[0].pain_vas",
            "fractures[0].height_loss_pct",
        ] {
            assert!(p.contains(&want), "missing {want} in {e:?}");
        }
        let age = e
            .iter()
            .find(|e| e.path == "patient.age")
            .map(|e| e.message.clone());
        let age = age.unwrap_or_default();
        assert!(age.contains("150") && age.contains("18–120"), "{age}");
        let level = e
            .iter()
            .find(|e| e.path == "fractures[0].level")
            .map(|e| e.message.clone())
            .unwrap_or_default();
        assert!(level.contains("L9") && level.contains("T12"), "{level}");
    }

    #[test]
    fn missing_neurological_deficit_is_an_error_never_a_default() {
        let json = r#"{"patient":{"age":70,"sex":"female"},"fractures":[{"level":"L1"}]}"#;
        assert_eq!(paths(json), vec!["patient.neurological_deficit"]);
    }

    #[test]
    fn duplicate_levels_are_rejected() {
        let json = r#"{"patient":{"age":70,"sex":"female","neurological_deficit":"none"},
            "fractures":[{"level":"L1"},{"level":"L2"},{"level":"L1"}]}"#;
        assert_eq!(paths(json), vec!["fractures[2].level"]);
    }

    #[test]
    fn empty_fractures_and_bad_dates_are_rejected() {
        let json = r#"{"as_of":"2026-02-30","patient":{"age":70,"sex":"female","neurological_deficit":"none"},
            "fractures":[]}"#;
        let p = paths(json);
        assert!(p.contains(&"as_of".to_owned()), "{p:?}");
        assert!(p.contains(&"fractures".to_owned()), "{p:?}");
    }

    #[test]
    fn morphometry_heights_must_be_positive_and_at_most_60() {
        let json = r#"{"patient":{"age":70,"sex":"female","neurological_deficit":"none"},
            "fractures":[{"level":"L1","morphometry":{"anterior_mm":0,"middle_mm":20,"posterior_mm":61}}]}"#;
        let p = paths(json);
        assert!(
            p.contains(&"fractures[0].morphometry.anterior_mm".to_owned()),
            "{p:?}"
        );
        assert!(
            p.contains(&"fractures[0].morphometry.posterior_mm".to_owned()),
            "{p:?}"
        );
    }

    #[test]
    fn prior_vertebral_may_not_exceed_prior_fragility() {
        let json = r#"{"patient":{"age":70,"sex":"female","neurological_deficit":"none",
            "prior_fragility_fractures":1,"prior_vertebral_fractures":2},"fractures":[{"level":"L1"}]}"#;
        assert_eq!(paths(json), vec!["patient.prior_vertebral_fractures"]);
    }

    #[test]
    fn performed_procedure_needs_a_date() {
        let json = r#"{"phase":"post_procedure","patient":{"age":70,"sex":"female","neurological_deficit":"none"},
            "fractures":[{"level":"L1"}],"procedure":{"type":"kyphoplasty","level":"L1"}}"#;
        assert_eq!(paths(json), vec!["procedure.date"]);
        let json = r#"{"patient":{"age":70,"sex":"female","neurological_deficit":"none"},
            "fractures":[{"level":"L1"}],"procedure":{"type":"kyphoplasty","level":"L1","cement_leakage":["venous"]}}"#;
        assert_eq!(paths(json), vec!["procedure.date"]);
        let json = r#"{"patient":{"age":70,"sex":"female","neurological_deficit":"none"},
            "fractures":[{"level":"L1"}],"procedure":{"type":"kyphoplasty","level":"L2"}}"#;
        assert_eq!(paths(json), vec!["procedure.level"]);
    }

    #[test]
    fn medication_dates_must_be_in_order() {
        let json = r#"{"patient":{"age":70,"sex":"female","neurological_deficit":"none"},
            "fractures":[{"level":"L1"}],
            "medications":[{"drug":"denosumab","start":"2026-01-01","end":"2025-01-01","last_dose":"2027-01-01"}]}"#;
        let p = paths(json);
        assert!(p.contains(&"medications[0].end".to_owned()), "{p:?}");
        assert!(p.contains(&"medications[0].last_dose".to_owned()), "{p:?}");
    }

    #[test]
    fn not_json_is_one_clear_error() {
        let e = errors("{not json");
        assert_eq!(e.len(), 1);
        assert!(e[0].message.contains("not valid JSON"));
    }

    #[test]
    fn wrong_types_name_the_field() {
        let json = r#"{"patient":{"age":"seventy","sex":"female","neurological_deficit":"none"},
            "fractures":[{"level":"L1","imaging":["xray","pet"]}]}"#;
        let p = paths(json);
        assert!(p.contains(&"patient.age".to_owned()), "{p:?}");
        assert!(p.contains(&"fractures[0].imaging[1]".to_owned()), "{p:?}");
    }
}
