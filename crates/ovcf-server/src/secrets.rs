//! Secrets: password hashes (Argon2id, PHC strings with their own salt and parameters) and random
//! tokens (256 bits from the OS). Nothing here logs or keeps a plaintext.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Shortest password accepted (NIST SP 800-63B: at least 8; we ask for a passphrase).
pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the operating system's random source failed: {0}")]
    Random(String),
}

/// Argon2id PHC string of `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, SecretError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(SecretError::PasswordTooShort);
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| SecretError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string (false for a malformed hash).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).ok().is_some_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// 32 random bytes from the OS.
pub fn random_256() -> Result<[u8; 32], SecretError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| SecretError::Random(e.to_string()))?;
    Ok(buf)
}

/// A new API token (`ovcf_…`, 256 bits); store only [`crate::auth::token_digest`] of it.
pub fn new_api_token() -> Result<String, SecretError> {
    Ok(crate::auth::format_token(&random_256()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash_password("correct horse battery staple");
        let Ok(h) = h else {
            panic!("hashing failed: {h:?}");
        };
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery staple", &h));
        assert!(!verify_password("correct horse battery stapler", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(
            hash_password("short"),
            Err(SecretError::PasswordTooShort)
        ));
    }

    #[test]
    fn tokens_differ() {
        let a = new_api_token().ok();
        let b = new_api_token().ok();
        assert!(a.is_some() && a != b);
    }
}
