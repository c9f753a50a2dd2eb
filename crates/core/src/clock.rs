//! The bot's clock, injected everywhere time is read: the system clock in production, a
//! settable instant in tests, what-if runs and the demo (the poller never reads the system
//! time itself).

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};

/// The bot's clock: the system clock, or a settable instant (tests, what-if, the demo).
#[derive(Debug, Clone)]
pub enum Clock {
    /// `Utc::now()`.
    System,
    /// A fixed instant that can be moved.
    Fixed(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    /// A fixed clock at `t`.
    pub fn fixed(t: DateTime<Utc>) -> Clock {
        Clock::Fixed(Arc::new(Mutex::new(t)))
    }
    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }
    /// Moves a fixed clock (no effect on the system clock).
    pub fn set(&self, t: DateTime<Utc>) {
        if let Clock::Fixed(c) = self {
            *c.lock().unwrap_or_else(|e| e.into_inner()) = t;
        }
    }
}
