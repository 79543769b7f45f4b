//! The endpoints, one module per area of api-v1.

pub mod assess;
pub mod cds;
pub mod health;
pub mod registry;
pub mod schema;
pub mod setup;
