//! The audit chain's canonical encoding.
//!
//! * `payload_hash` = SHA-256 (lower-case hex) of the compact JSON array `[entity, v1, v2, …]`, the
//!   row's values in the column order of [`Entity::columns`] (integers and reals as JSON numbers in
//!   serde_json's shortest form, text as JSON strings, NULL as `null`).
//! * `hash` = SHA-256 of the compact JSON array
//!   `[seq, at, actor, action, entity, entity_id, payload_hash, prev_hash]`.
//! * The first event's `prev_hash` is 64 zeros.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::Val;
use crate::schema::Entity;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An event of the audit chain (contract: seq, at, actor, action, entity, entity_id, payload_hash,
/// prev_hash, hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: i64,
    pub payload_hash: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Actions: `create` wrote the row (entity, entity_id); `read` looked at it and wrote nothing.
pub const CREATE: &str = "create";
pub const READ: &str = "read";

/// Who an event is recorded as (`actor`). A person is recorded by their name: the registry CLI's
/// `--user` (else the OS user) or the signed-in user of `ovcf serve`. Writes that no signed-in
/// person makes use these forms, which a person's name cannot be confused with in practice
/// (account user names have no `:`):
///
/// * `local:OSUSER` — the account commands run on the server machine (`ovcf user add`,
///   `ovcf token create|revoke`, `ovcf cds-client add`) by the operating-system user OSUSER, who
///   has direct access to the database;
/// * `setup` — the one-time set-up link of `ovcf serve` creating the first administrator;
/// * `cds:ISS` — a CDS Hooks client, by the `iss` of its verified JWT (feedback);
/// * `server` — any other write the service makes on its own behalf.
pub mod actor {
    pub const SETUP: &str = "setup";
    pub const SERVER: &str = "server";

    pub fn local_operator(os_user: &str) -> String {
        format!("local:{os_user}")
    }

    pub fn cds_client(iss: &str) -> String {
        format!("cds:{iss}")
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

pub fn row_hash(entity: Entity, row: &[Val]) -> String {
    // Streams the canonical JSON array into the hasher (rows hold large JSON documents: no copy).
    struct H(Sha256);
    impl std::io::Write for H {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.update(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = H(Sha256::new());
    h.0.update(b"[");
    // Writing JSON into a hasher cannot fail.
    let _ = serde_json::to_writer(&mut h, entity.name());
    for v in row {
        h.0.update(b",");
        let _ = match v {
            Val::Text(Some(s)) => serde_json::to_writer(&mut h, s),
            other => serde_json::to_writer(&mut h, &other.to_json()),
        };
    }
    h.0.update(b"]");
    hex(&h.0.finalize())
}

pub fn event_hash(e: &AuditEvent) -> String {
    let text = serde_json::json!([
        e.seq,
        e.at,
        e.actor,
        e.action,
        e.entity,
        e.entity_id,
        e.payload_hash,
        e.prev_hash
    ])
    .to_string();
    hex(&Sha256::digest(text.as_bytes()))
}

pub(crate) const EVENT_COLUMNS: &str =
    "seq, at, actor, action, entity, entity_id, payload_hash, prev_hash, hash";

pub(crate) fn event_vals(e: &AuditEvent) -> [Val; 9] {
    [
        Val::int(e.seq),
        Val::text(e.at.clone()),
        Val::text(e.actor.clone()),
        Val::text(e.action.clone()),
        Val::text(e.entity.clone()),
        Val::int(e.entity_id),
        Val::text(e.payload_hash.clone()),
        Val::text(e.prev_hash.clone()),
        Val::text(e.hash.clone()),
    ]
}

pub(crate) const EVENT_TYPES: [crate::db::Ty; 9] = {
    use crate::db::Ty::{Int, Text};
    [Int, Text, Text, Text, Text, Int, Text, Text, Text]
};

pub(crate) fn event_from_vals(v: &[Val]) -> AuditEvent {
    let s = |i: usize| {
        v.get(i)
            .and_then(Val::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let n = |i: usize| v.get(i).and_then(Val::as_i64).unwrap_or_default();
    AuditEvent {
        seq: n(0),
        at: s(1),
        actor: s(2),
        action: s(3),
        entity: s(4),
        entity_id: n(5),
        payload_hash: s(6),
        prev_hash: s(7),
        hash: s(8),
    }
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn now_utc() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day) (H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn hashes_are_stable() {
        let h = row_hash(Entity::User, &[Val::int(1), Val::text("ana")]);
        assert_eq!(h.len(), 64);
        assert_eq!(h, row_hash(Entity::User, &[Val::int(1), Val::text("ana")]));
        assert_ne!(h, row_hash(Entity::User, &[Val::int(1), Val::text("anb")]));
        // The canonical encoding is the compact JSON array [entity, values…].
        let text = r#"["user",1,"ana"]"#;
        assert_eq!(h, hex(&Sha256::digest(text.as_bytes())));
    }
}
