//! The OpenAPI 3.1 document, generated from the handlers' annotations (utoipa), with the contract's
//! request and report schemas embedded from the same schemars generation as
//! `ovcf schema request|report` (one declaration, many outputs).

use std::borrow::Cow;
use std::collections::BTreeMap;

use ovcf_core::{AssessmentReport, AssessmentRequest};
use serde_json::{Map, Value};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{RefOr, schema::Schema};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "OVCF Pathway API",
        description = "Clinical decision support for osteoporotic vertebral compression fractures (contract api-v1). \
Errors share one shape: {\"errors\":[{\"code\",\"path\"?,\"message\"}]}.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorItem)),
    tags(
        (name = "service", description = "Health and documentation"),
        (name = "assessment", description = "The engine and its schemas"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Stands for the contract's AssessmentRequest in annotations; the real schema is embedded by
/// [`document`].
pub struct AssessmentRequestDoc;
/// Stands for the contract's AssessmentReport in annotations.
pub struct AssessmentReportDoc;

impl PartialSchema for AssessmentRequestDoc {
    fn schema() -> RefOr<Schema> {
        RefOr::Ref(utoipa::openapi::Ref::from_schema_name("AssessmentRequest"))
    }
}
impl ToSchema for AssessmentRequestDoc {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("AssessmentRequest")
    }
}
impl PartialSchema for AssessmentReportDoc {
    fn schema() -> RefOr<Schema> {
        RefOr::Ref(utoipa::openapi::Ref::from_schema_name("AssessmentReport"))
    }
}
impl ToSchema for AssessmentReportDoc {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("AssessmentReport")
    }
}

/// The final document: utoipa's paths plus the contract schemas under `components/schemas`.
pub fn document(api: &utoipa::openapi::OpenApi) -> Result<Value, serde_json::Error> {
    let mut doc = serde_json::to_value(api)?;
    embed(
        &mut doc,
        "AssessmentRequest",
        ovcf_core::schema_of::<AssessmentRequest>(),
    );
    embed(
        &mut doc,
        "AssessmentReport",
        ovcf_core::schema_of::<AssessmentReport>(),
    );
    Ok(doc)
}

/// Puts a schemars root schema under `components/schemas/NAME`, moving its `$defs` beside it (refs
/// rewritten; a name already taken by a different schema is prefixed with `NAME.`).
fn embed(doc: &mut Value, name: &str, mut schema: Value) {
    let Some(root) = doc.as_object_mut() else {
        return;
    };
    let schemas = root
        .entry("components")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .map(|c| {
            c.entry("schemas")
                .or_insert_with(|| Value::Object(Map::new()))
        });
    let Some(Value::Object(schemas)) = schemas else {
        return;
    };
    let defs = match schema.as_object_mut() {
        Some(obj) => {
            obj.remove("$schema");
            match obj.remove("$defs") {
                Some(Value::Object(defs)) => defs,
                _ => Map::new(),
            }
        }
        None => Map::new(),
    };
    let mut renamed = BTreeMap::new();
    for (def_name, def) in &defs {
        let target = match schemas.get(def_name) {
            Some(existing) if existing != def => format!("{name}.{def_name}"),
            _ => def_name.clone(),
        };
        renamed.insert(def_name.clone(), target);
    }
    for (def_name, mut def) in defs {
        rewrite_refs(&mut def, &renamed);
        if let Some(target) = renamed.get(&def_name) {
            schemas.insert(target.clone(), def);
        }
    }
    rewrite_refs(&mut schema, &renamed);
    schemas.insert(name.to_owned(), schema);
}

fn rewrite_refs(v: &mut Value, renamed: &BTreeMap<String, String>) {
    match v {
        Value::Object(obj) => {
            for (k, child) in obj.iter_mut() {
                if k == "$ref" {
                    if let Value::String(r) = child
                        && let Some(def) = r.strip_prefix("#/$defs/")
                    {
                        let target = renamed.get(def).map_or(def, String::as_str);
                        *r = format!("#/components/schemas/{target}");
                    }
                } else {
                    rewrite_refs(child, renamed);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite_refs(i, renamed)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                for (k, c) in o {
                    if k == "$ref" {
                        if let Value::String(s) = c {
                            out.push(s.clone());
                        }
                    } else {
                        all_refs(c, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|c| all_refs(c, out)),
            _ => {}
        }
    }

    #[test]
    fn every_ref_resolves() {
        let (_, api) = crate::api_router().split_for_parts();
        let doc = document(&api).unwrap_or(Value::Null);
        assert!(
            doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1"))
        );
        let mut refs = Vec::new();
        all_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or(&r);
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "dangling $ref {r}"
            );
        }
    }
}
