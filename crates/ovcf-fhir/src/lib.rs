//! OVCF Pathway interoperability: CDS Hooks 2.0 and FHIR R4.
//!
//! A library with no HTTP: the server wires these functions into its routes.
//! - [`cds`]: CDS Hooks 2.0 wire types (tolerant of unknown fields).
//! - [`discovery`]: `GET /cds-services` ([`discovery::discovery`]).
//! - [`mapping`]: FHIR R4 resources → [`ovcf_core::AssessmentRequest`] ([`mapping::map_hook_request`],
//!   [`mapping::map_bundle`]), reporting missing required fields and bad values, never guessing.
//! - [`assess`]: runs the one engine on mapped data, withholding decisions that depend on a field
//!   FHIR has no source for ([`assess::assess_mapped`]).
//! - [`cards`]: patient-view and order-sign cards (zh/en).
//! - [`auth`]: client JWT verification ([`auth::CdsAuth`]).
//! - [`codes`]: code systems, including the project's own CodeSystem URLs.
//!
//! No function here logs; issues and errors never carry tokens, and mapping messages never carry
//! patient values.

pub mod assess;
pub mod auth;
pub mod cards;
pub mod cds;
pub mod codemap;
pub mod codes;
pub mod discovery;
pub mod fhir;
pub mod mapping;
pub mod outbound;
pub mod quality;

pub use assess::{FhirAssessError, FhirAssessment, assess_mapped, request_for_orders};
pub use auth::{AuthError, CdsAuth, Claims};
pub use cards::{Lang, order_sign_cards, patient_view_cards, patient_view_cards_for};
pub use cds::{
    Card, CardResponse, DiscoveryResponse, FeedbackRequest, HookRequest, Indicator, Service,
};
pub use discovery::{ORDER_SIGN_ID, PATIENT_VIEW_ID, discovery};
pub use mapping::{
    IssueCode, IssueSeverity, MappedRequest, MappingIssue, PartialRequest, map_bundle,
    map_hook_request, map_resources,
};
