//! Fault injection: the share of Conduit calls that answer HTTP 500, hang, return truncated
//! JSON or answer late, drawn from a seeded generator so a run is reproducible.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::SimError;

/// Shares (0..=1) of Conduit calls that fail each way; their sum must not exceed 1.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FaultSpec {
    /// Answer HTTP 500 with a non-JSON body (the call has no effect).
    pub server_error: f64,
    /// Do the call, then hang for [`HANG_SECS`] before answering (beyond client timeouts).
    pub timeout: f64,
    /// Do the call, then answer with truncated JSON.
    pub malformed: f64,
    /// Answer after an extra [`SLOW_MS`] milliseconds.
    pub slow: f64,
}

/// How long a `timeout` fault hangs.
pub const HANG_SECS: u64 = 60;
/// The extra delay of a `slow` fault.
pub const SLOW_MS: u64 = 1500;

/// What happens to one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally.
    None,
    /// HTTP 500.
    ServerError,
    /// Hang, then answer.
    Timeout,
    /// Truncated JSON.
    Malformed,
    /// Extra delay.
    Slow,
}

impl FaultSpec {
    /// Parses `"5xx=0.1,timeout=0.05,malformed=0.05,slow=0.1"` (any subset; empty = none).
    pub fn parse(spec: &str) -> Result<FaultSpec, SimError> {
        let mut f = FaultSpec::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').ok_or_else(|| {
                SimError::Faults(format!("{part:?}: expected NAME=SHARE, e.g. 5xx=0.1"))
            })?;
            let share: f64 = value
                .trim()
                .parse()
                .map_err(|_| SimError::Faults(format!("{part:?}: {value:?} is not a number")))?;
            if !(0.0..=1.0).contains(&share) {
                return Err(SimError::Faults(format!(
                    "{part:?}: a share must be between 0 and 1"
                )));
            }
            match name.trim() {
                "5xx" => f.server_error = share,
                "timeout" => f.timeout = share,
                "malformed" => f.malformed = share,
                "slow" => f.slow = share,
                other => {
                    return Err(SimError::Faults(format!(
                        "unknown fault {other:?} (known: 5xx, timeout, malformed, slow)"
                    )))
                }
            }
        }
        if f.server_error + f.timeout + f.malformed + f.slow > 1.0 + 1e-9 {
            return Err(SimError::Faults(format!(
                "{spec:?}: the shares add up to more than 1"
            )));
        }
        Ok(f)
    }

    /// Whether no fault is configured.
    pub fn is_none(&self) -> bool {
        *self == FaultSpec::default()
    }
}

/// The seeded source of fault decisions.
#[derive(Debug)]
pub struct Faults {
    /// The current shares.
    pub spec: FaultSpec,
    rng: StdRng,
}

impl Faults {
    /// A fault source with its seed.
    pub fn new(spec: FaultSpec, seed: u64) -> Faults {
        Faults {
            spec,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The fault for the next call (one draw per call, also when no fault is configured,
    /// so changing the spec at run time does not shift later decisions).
    pub fn draw(&mut self) -> Fault {
        let x: f64 = self.rng.gen();
        let s = self.spec;
        let mut edge = s.server_error;
        if x < edge {
            return Fault::ServerError;
        }
        edge += s.timeout;
        if x < edge {
            return Fault::Timeout;
        }
        edge += s.malformed;
        if x < edge {
            return Fault::Malformed;
        }
        edge += s.slow;
        if x < edge {
            return Fault::Slow;
        }
        Fault::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects_specs() {
        let f = FaultSpec::parse("5xx=0.1, timeout=0.05,malformed=0.05,slow=0.1").expect("ok");
        assert_eq!(f.server_error, 0.1);
        assert_eq!(f.slow, 0.1);
        assert!(FaultSpec::parse("").expect("empty").is_none());
        assert!(FaultSpec::parse("boom=0.1").is_err());
        assert!(FaultSpec::parse("5xx=2").is_err());
        assert!(FaultSpec::parse("5xx=0.7,slow=0.7").is_err());
        assert!(FaultSpec::parse("5xx").is_err());
    }

    #[test]
    fn same_seed_same_faults() {
        let spec = FaultSpec::parse("5xx=0.3,malformed=0.3").expect("ok");
        let draw = |seed| {
            let mut f = Faults::new(spec, seed);
            (0..50).map(|_| f.draw()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        assert!(draw(7).contains(&Fault::ServerError));
    }
}
