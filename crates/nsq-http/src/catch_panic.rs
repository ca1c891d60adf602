//! Turning a panicking handler into a value.
//!
//! A peer must never be able to take a daemon down, and the reference answers a handler
//! panic with 500 `INTERNAL_ERROR` instead of dropping the connection. [`catch_unwind`]
//! runs a handler future and reports a panic in it (or in creating it) as an error carrying
//! the panic message.

use std::any::Any;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that resolves to `Err(message)` instead of unwinding when the inner future
/// panics while being polled.
struct CatchUnwind<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match panic::catch_unwind(AssertUnwindSafe(move || inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    }
}

/// The text of a panic payload: the `&str` or `String` it carries, or a placeholder.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Calls `make` to create a future and runs it; a panic in either step yields
/// `Err(panic message)`. The caller's task keeps running either way.
pub async fn catch_unwind<F, Fut>(make: F) -> Result<Fut::Output, String>
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let fut = panic::catch_unwind(AssertUnwindSafe(make))
        .map_err(|payload| panic_message(payload.as_ref()))?;
    CatchUnwind {
        inner: Box::pin(fut),
    }
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn catches_both_phases() {
        assert_eq!(catch_unwind(|| async { 5 }).await, Ok(5));
        let r: Result<(), String> = catch_unwind(|| async { panic!("boom {}", 1) }).await;
        assert_eq!(r, Err("boom 1".to_string()));
        let r: Result<(), String> = catch_unwind(|| -> std::future::Ready<()> {
            panic!("early");
        })
        .await;
        assert_eq!(r, Err("early".to_string()));
    }
}
