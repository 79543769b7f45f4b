//! CDS Hooks 2.0 (HL7 STU 2, errata 2.0.1) wire types.
//!
//! Inbound types (hook request, feedback) are tolerant: unknown fields are ignored (the spec
//! reserves `extension` and adds optional fields in minor versions), so none of these types uses
//! `deny_unknown_fields`. Optional fields are omitted when absent (spec: elements SHALL NOT be
//! `null` or empty). `extension` objects are kept as opaque JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `GET {base}/cds-services` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveryResponse {
    pub services: Vec<Service>,
}

/// One CDS Service in the discovery response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub hook: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub description: String,
    pub id: String,
    /// Prefetch key → FHIR query template.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prefetch: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_requirements: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Value>,
}

/// `POST {base}/cds-services/{id}` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookRequest {
    pub hook: String,
    pub hook_instance: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fhir_server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fhir_authorization: Option<FhirAuthorization>,
    /// Hook-specific; see [`HookRequest::patient_id`] and [`HookRequest::draft_orders`].
    pub context: Value,
    /// Key → a FHIR resource, a searchset Bundle, `null` (the client has no data) or an
    /// OperationOutcome (the client failed). A key the client chose not to satisfy is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefetch: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Value>,
}

impl HookRequest {
    /// `context.patientId`, when it is a string.
    pub fn patient_id(&self) -> Option<&str> {
        self.context.get("patientId").and_then(Value::as_str)
    }

    /// `context.userId`, when it is a string.
    pub fn user_id(&self) -> Option<&str> {
        self.context.get("userId").and_then(Value::as_str)
    }

    /// The resources of `context.draftOrders` (a Bundle) for `order-sign` / `order-select`.
    pub fn draft_orders(&self) -> Vec<Value> {
        self.context
            .get("draftOrders")
            .map(|b| {
                crate::fhir::bundle_resources(b)
                    .into_iter()
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The OAuth 2.0 access token a client hands to the service for its FHIR server.
///
/// `Debug` does not print the token.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct FhirAuthorization {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub scope: String,
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
}

impl std::fmt::Debug for FhirAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FhirAuthorization")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// A service response: `{"cards": [...], "systemActions": [...]?}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardResponse {
    pub cards: Vec<Card>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system_actions: Vec<Action>,
    /// CDS Hooks extension (the mapping's data-quality report, `org.ovcf-pathway.mapping`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Indicator {
    Info,
    Warning,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelectionBehavior {
    #[serde(rename = "at-most-one")]
    AtMostOne,
    #[serde(rename = "any")]
    Any,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    /// Always sent by this service: the feedback endpoint refers to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// One sentence, under 140 characters.
    pub summary: String,
    /// GitHub-flavoured Markdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub indicator: Indicator,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<Suggestion>,
    /// Required when `suggestions` is not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection_behavior: Option<SelectionBehavior>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub override_reasons: Vec<Coding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<Coding>,
}

/// CDS Hooks Coding: `code` and `system` required, `display` required for override reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coding {
    pub code: String,
    pub system: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suggestion {
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_recommended: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionType {
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    #[serde(rename = "type")]
    pub kind: ActionType,
    /// REQUIRED by the spec; this service always sends one. Empty only when parsing a payload
    /// that omitted it (the spec's own `systemActions` example does).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The full resource for `create` / `update`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Value>,
    /// Relative reference, e.g. `ServiceRequest/123`; used for `delete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkType {
    Absolute,
    Smart,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub label: String,
    pub url: String,
    #[serde(rename = "type")]
    pub kind: LinkType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autolaunchable: Option<bool>,
}

/// `POST {base}/cds-services/{id}/feedback` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackRequest {
    pub feedback: Vec<Feedback>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Accepted,
    Overridden,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Feedback {
    /// The `uuid` of the card.
    pub card: String,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted_suggestions: Vec<AcceptedSuggestion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<OverrideReason>,
    /// RFC 3339, UTC.
    pub outcome_timestamp: String,
}

impl Feedback {
    /// Spec checks a receiver must make: `acceptedSuggestions` for `accepted`, a parseable
    /// RFC 3339 timestamp. Returns the problems (empty = valid).
    pub fn problems(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.card.is_empty() {
            out.push("card is empty");
        }
        if self.outcome == Outcome::Accepted && self.accepted_suggestions.is_empty() {
            out.push("acceptedSuggestions is required for an accepted outcome");
        }
        if self.outcome_timestamp.parse::<jiff::Timestamp>().is_err() {
            out.push("outcomeTimestamp is not an RFC 3339 date-time");
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedSuggestion {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OverrideReason {
    /// A Coding; the client may omit `display` here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Coding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_comment: Option<String>,
}

/// The card-level checks of the spec for a card this service emits.
pub fn card_problems(card: &Card) -> Vec<String> {
    let mut out = Vec::new();
    if card.summary.is_empty() || card.summary.chars().count() >= 140 {
        out.push(format!(
            "summary must be 1..139 characters, is {}",
            card.summary.chars().count()
        ));
    }
    if card.source.label.is_empty() {
        out.push("source.label is empty".into());
    }
    if !card.suggestions.is_empty() && card.selection_behavior.is_none() {
        out.push("suggestions without selectionBehavior".into());
    }
    if card.override_reasons.iter().any(|r| r.display.is_none()) {
        out.push("override reason without display".into());
    }
    for s in &card.suggestions {
        for a in &s.actions {
            if a.description.is_empty() {
                out.push("action without description".into());
            }
            match a.kind {
                ActionType::Create | ActionType::Update if a.resource.is_none() => {
                    out.push("create/update action without resource".into());
                }
                ActionType::Delete if a.resource_id.is_none() => {
                    out.push("delete action without resourceId".into());
                }
                _ => {}
            }
        }
    }
    for l in &card.links {
        if l.app_context.is_some() && l.kind != LinkType::Smart {
            out.push("appContext on a non-smart link".into());
        }
    }
    out
}
