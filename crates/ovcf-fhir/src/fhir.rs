//! A lite, tolerant view of FHIR R4 JSON (`serde_json::Value`): only the elements the mapping
//! reads, every other element ignored.

use ovcf_core::Date;
use serde_json::Value;

/// Nesting depth up to which Bundles inside Bundles are opened.
const MAX_BUNDLE_DEPTH: usize = 4;

/// The resources of a Bundle (`entry[].resource`, nested Bundles opened), or the value itself
/// when it is a single resource. Anything without a `resourceType` is skipped.
pub fn bundle_resources(v: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    collect(v, 0, &mut out);
    out
}

fn collect<'a>(v: &'a Value, depth: usize, out: &mut Vec<&'a Value>) {
    match resource_type(v) {
        Some("Bundle") if depth < MAX_BUNDLE_DEPTH => {
            if let Some(entries) = v.get("entry").and_then(Value::as_array) {
                for e in entries {
                    if let Some(r) = e.get("resource") {
                        collect(r, depth + 1, out);
                    }
                }
            }
        }
        Some(_) => out.push(v),
        None => {}
    }
}

pub fn resource_type(v: &Value) -> Option<&str> {
    v.get("resourceType").and_then(Value::as_str)
}

/// `Type/id` for messages, or `Type` when the resource has no id.
pub fn label(v: &Value) -> String {
    let rt = resource_type(v).unwrap_or("Resource");
    match v.get("id").and_then(Value::as_str) {
        Some(id) => format!("{rt}/{id}"),
        None => rt.to_string(),
    }
}

/// A coding as `(system, code, display)`; absent parts are "".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodingRef<'a> {
    pub system: &'a str,
    pub code: &'a str,
    pub display: &'a str,
}

/// The codings of a CodeableConcept.
pub fn codings(cc: Option<&Value>) -> Vec<CodingRef<'_>> {
    let Some(arr) = cc.and_then(|c| c.get("coding")).and_then(Value::as_array) else {
        return Vec::new();
    };
    arr.iter()
        .map(|c| CodingRef {
            system: c.get("system").and_then(Value::as_str).unwrap_or(""),
            code: c.get("code").and_then(Value::as_str).unwrap_or(""),
            display: c.get("display").and_then(Value::as_str).unwrap_or(""),
        })
        .collect()
}

/// CodeableConcept.text.
pub fn cc_text(cc: Option<&Value>) -> Option<&str> {
    cc.and_then(|c| c.get("text")).and_then(Value::as_str)
}

pub fn has_coding(cc: Option<&Value>, system: &str, code: &str) -> bool {
    codings(cc)
        .iter()
        .any(|c| c.system == system && c.code == code)
}

/// The first code of `system` in a CodeableConcept.
pub fn code_in<'a>(cc: Option<&'a Value>, system: &str) -> Option<&'a str> {
    codings(cc)
        .into_iter()
        .find(|c| c.system == system)
        .map(|c| c.code)
}

/// A FHIR `date` / `dateTime` / `instant` read to its calendar day, as written (the local day of
/// the clinical event; the time and zone are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FhirDate {
    Day(Date),
    /// `YYYY` or `YYYY-MM`: the day is not known.
    Partial,
}

/// Parses the day of a FHIR date/dateTime; `None` when the text is not a FHIR date at all.
pub fn parse_date(s: &str) -> Option<FhirDate> {
    let day = s.get(..10);
    if let Some(d) = day.and_then(Date::parse) {
        // A dateTime must continue with 'T'; a date ends here.
        return match s.as_bytes().get(10) {
            None | Some(b'T') => Some(FhirDate::Day(d)),
            Some(_) => None,
        };
    }
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    let year_ok = b.len() >= 4 && digits(0..4);
    match b.len() {
        4 if year_ok => Some(FhirDate::Partial),
        7 if year_ok && b[4] == b'-' && digits(5..7) => {
            let m = s.get(5..7).and_then(|m| m.parse::<u8>().ok())?;
            (1..=12).contains(&m).then_some(FhirDate::Partial)
        }
        _ => None,
    }
}

/// The reference string of a Reference element.
pub fn reference(v: Option<&Value>) -> Option<&str> {
    v.and_then(|r| r.get("reference")).and_then(Value::as_str)
}

/// The id in a `Patient/{id}` reference (relative or absolute URL, version suffix dropped).
pub fn patient_ref_id(r: &str) -> Option<&str> {
    let r = r.split("/_history/").next().unwrap_or(r);
    let idx = r.rfind("Patient/")?;
    let id = &r[idx + "Patient/".len()..];
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates() {
        let d = Date::parse("2009-07-16");
        assert_eq!(
            parse_date("2009-07-16T12:18:29-04:00"),
            d.map(FhirDate::Day)
        );
        assert_eq!(parse_date("2009-07-16"), d.map(FhirDate::Day));
        assert_eq!(parse_date("2009-07"), Some(FhirDate::Partial));
        assert_eq!(parse_date("2009"), Some(FhirDate::Partial));
        assert_eq!(parse_date("2009-13"), None);
        assert_eq!(parse_date("2009-02-30"), None);
        assert_eq!(parse_date("16/07/2009"), None);
        assert_eq!(parse_date("2009-07-16x"), None);
    }

    #[test]
    fn nested_bundles_and_refs() {
        let b = json!({"resourceType":"Bundle","entry":[
            {"resource":{"resourceType":"Patient","id":"p"}},
            {"resource":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Condition"}}]}},
            {"fullUrl":"x"}
        ]});
        let r = bundle_resources(&b);
        assert_eq!(r.len(), 2);
        assert_eq!(label(r[0]), "Patient/p");
        assert_eq!(patient_ref_id("Patient/123"), Some("123"));
        assert_eq!(
            patient_ref_id("https://x.org/fhir/Patient/9/_history/2"),
            Some("9")
        );
        assert_eq!(patient_ref_id("urn:uuid:abc"), None);
    }
}
