//! One module per report section; each is a pure function of the facts (decision-rules-v1).

pub mod care;
pub mod denosumab;
pub mod diagnosis;
pub mod follow_up;
pub mod perioperative;
pub mod pharmacotherapy;
pub mod procedure;
pub mod risks;
pub mod treatment;
pub mod very_high;
