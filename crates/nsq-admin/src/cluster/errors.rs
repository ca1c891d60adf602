//! The two ways a cluster query can fail.
//!
//! nsqadmin fans out to every nsqlookupd or nsqd. If *every* target failed the answer is a
//! hard error (502 `UPSTREAM_ERROR: failed to query any <kind>: <errors>`); if only some
//! failed the answer is the partial result plus a `WARNING:` message. Functions in
//! [`super`] therefore return `Result<Partial<T>, HardError>`.

/// Which kind of upstream a fan-out queried (it names the hard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upstream {
    /// nsqlookupd.
    Lookupd,
    /// nsqd.
    Nsqd,
}

impl Upstream {
    fn name(self) -> &'static str {
        match self {
            Upstream::Lookupd => "nsqlookupd",
            Upstream::Nsqd => "nsqd",
        }
    }
}

/// Every target failed (a fan-out over zero targets counts as that too).
/// Displays as `failed to query any <kind>: <errors joined by \n>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to query any {}: {}", .upstream.name(), .errors.join("\n"))]
pub struct HardError {
    /// The kind of upstream.
    pub upstream: Upstream,
    /// Each target's error text.
    pub errors: Vec<String>,
}

/// A result that may be incomplete: `errors` lists the targets that failed (empty when
/// everything answered).
#[derive(Debug, Clone, PartialEq)]
pub struct Partial<T> {
    /// What the answering targets produced.
    pub value: T,
    /// Error texts of the failed targets.
    pub errors: Vec<String>,
}

impl<T> Partial<T> {
    /// A complete result.
    pub fn ok(value: T) -> Partial<T> {
        Partial {
            value,
            errors: Vec::new(),
        }
    }

    /// Decides between a (possibly partial) result and a hard error: hard when every one of
    /// `targets` failed, including when there were none.
    pub fn or_hard(
        value: T,
        errors: Vec<String>,
        targets: usize,
        upstream: Upstream,
    ) -> Result<Partial<T>, HardError> {
        if errors.len() == targets {
            Err(HardError { upstream, errors })
        } else {
            Ok(Partial { value, errors })
        }
    }
}

/// Collects the warning texts handlers show: one entry per failed step, each the step's
/// errors joined by `\n`; rendered as `WARNING: <entries joined by "; ">` or `""`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings(Vec<String>);

impl Warnings {
    /// No warnings yet.
    pub fn new() -> Warnings {
        Warnings::default()
    }

    /// Records a step's errors (nothing if there were none).
    pub fn push(&mut self, errors: &[String]) {
        if !errors.is_empty() {
            self.0.push(errors.join("\n"));
        }
    }

    /// Records a partial result's errors and returns its value.
    pub fn take<T>(&mut self, p: Partial<T>) -> T {
        self.push(&p.errors);
        p.value
    }

    /// The `message` field: `""` or `WARNING: …`.
    pub fn message(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            format!("WARNING: {}", self.0.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        let e = HardError {
            upstream: Upstream::Nsqd,
            errors: vec![],
        };
        assert_eq!(e.to_string(), "failed to query any nsqd: ");
        let r = Partial::or_hard((), vec!["a".into(), "b".into()], 2, Upstream::Lookupd);
        assert_eq!(
            r.unwrap_err().to_string(),
            "failed to query any nsqlookupd: a\nb"
        );
        let mut w = Warnings::new();
        assert_eq!(w.message(), "");
        w.push(&["x".into(), "y".into()]);
        w.push(&[]);
        w.push(&["z".into()]);
        assert_eq!(w.message(), "WARNING: x\ny; z");
    }
}
