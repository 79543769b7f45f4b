//! A per-principal token bucket: each authenticated principal may make `per_second` requests a
//! second on average with bursts up to `burst`. Kept in memory (one process); a restart refills
//! every bucket, which errs on the side of availability.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Limits for one principal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second; `0` disables the limit.
    pub per_second: u32,
    /// Requests allowed at once before the sustained rate applies.
    pub burst: u32,
}

impl Default for RateLimit {
    /// 50 requests a second with bursts of 100: far above what a clinician's browser or a
    /// coordinator's script needs, low enough that a runaway client cannot starve the others.
    fn default() -> RateLimit {
        RateLimit {
            per_second: 50,
            burst: 100,
        }
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The buckets, keyed by principal.
pub struct RateLimiter {
    /// Tokens refilled per second; `0` disables the limit.
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Buckets kept before idle (full) ones are dropped.
const MAX_BUCKETS: usize = 10_000;

impl RateLimiter {
    pub fn new(limit: RateLimit) -> RateLimiter {
        RateLimiter::with_rate(f64::from(limit.per_second), limit.burst)
    }

    /// A limiter refilling `per_second` tokens a second (may be below 1: `5.0 / 60.0` is five a
    /// minute), with `burst` at once.
    pub fn with_rate(per_second: f64, burst: u32) -> RateLimiter {
        RateLimiter {
            rate: per_second.max(0.0),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; `Err(wait)` when the bucket is empty.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if self.rate == 0.0 {
            return Ok(());
        }
        let (rate, burst) = (self.rate, self.burst);
        // A poisoned lock only means another request panicked mid-update; the map is still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * rate < burst
            });
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let l = RateLimiter::new(RateLimit {
            per_second: 10,
            burst: 3,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check_at("a", t0).is_ok());
        }
        assert!(l.check_at("a", t0).is_err());
        // Another principal has its own bucket.
        assert!(l.check_at("b", t0).is_ok());
        // 100 ms later one token is back.
        let t1 = t0 + Duration::from_millis(100);
        assert!(l.check_at("a", t1).is_ok());
        assert!(l.check_at("a", t1).is_err());
    }

    #[test]
    fn slow_rates_below_one_a_second() {
        let l = RateLimiter::with_rate(5.0 / 60.0, 5);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(l.check_at("login:u", t0).is_ok());
        }
        let wait = l.check_at("login:u", t0).err().unwrap_or_default();
        assert!(
            wait >= Duration::from_secs(11) && wait <= Duration::from_secs(12),
            "{wait:?}"
        );
        assert!(l.check_at("login:u", t0 + Duration::from_secs(12)).is_ok());
    }

    #[test]
    fn zero_disables() {
        let l = RateLimiter::new(RateLimit {
            per_second: 0,
            burst: 0,
        });
        for _ in 0..1000 {
            assert!(l.check("a").is_ok());
        }
    }
}
