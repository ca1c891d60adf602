//! Daemon health: the outcome of the latest storage write. A failed disk write makes nsqd
//! unhealthy (`/ping` answers 500 `NOK - <err>`), the next successful one heals it.

use parking_lot::Mutex;

/// Shared health state. Invariant: `None` means healthy.
#[derive(Debug, Default)]
pub struct Health(Mutex<Option<String>>);

impl Health {
    /// Records a successful write.
    pub fn ok(&self) {
        let mut g = self.0.lock();
        if g.is_some() {
            *g = None;
        }
    }

    /// Records a failed write.
    pub fn fail(&self, err: impl Into<String>) {
        *self.0.lock() = Some(err.into());
    }

    /// Sets the state directly (`None` = healthy).
    pub fn set(&self, err: Option<String>) {
        *self.0.lock() = err;
    }

    /// The current error, if unhealthy.
    pub fn error(&self) -> Option<String> {
        self.0.lock().clone()
    }
}
