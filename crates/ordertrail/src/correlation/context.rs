//! Where the current request id lives while a request runs, and how it follows spawned work.
//!
//! Two carriers, read in this order by [`current()`]:
//! 1. the task-local set by [`scope`] (and by the server middleware);
//! 2. the tracing span: the middleware also stores the id in the request span's extensions,
//!    so a future that was only `.instrument()`-ed with that span still finds it.

use std::future::Future;

use tokio::task::JoinHandle;
use tokio::task::futures::TaskLocalFuture;
use tracing::{Dispatch, Instrument, Span};
use tracing_subscriber::Registry;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use super::RequestId;

tokio::task_local! {
    static CURRENT: RequestId;
}

/// The request id of the request this code runs for, or `None` outside any request.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use ordertrail::correlation::{self, RequestId};
///
/// assert!(correlation::current().is_none());
/// let id: RequestId = "order-1".parse().unwrap();
/// correlation::scope(id.clone(), async move {
///     assert_eq!(correlation::current(), Some(id));
/// }).await;
/// assert!(correlation::current().is_none());
/// # }
/// ```
pub fn current() -> Option<RequestId> {
    CURRENT.try_with(RequestId::clone).ok().or_else(from_span)
}

/// Runs `fut` with `id` as the current request id; the id is gone when `fut` completes.
pub fn scope<F: Future>(id: RequestId, fut: F) -> TaskLocalFuture<RequestId, F> {
    CURRENT.scope(id, fut)
}

/// Runs `f` synchronously with `id` as the current request id.
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) fn sync_scope<R>(id: RequestId, f: impl FnOnce() -> R) -> R {
    CURRENT.sync_scope(id, f)
}

/// `tokio::spawn` that carries the current request id and span into the new task.
///
/// Use it for work that outlives the request (a background dispatch, a fire-and-forget
/// notification): its log lines and outgoing calls keep the request's id.
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let fut = fut.instrument(Span::current());
    match current() {
        Some(id) => tokio::spawn(CURRENT.scope(id, fut)),
        None => tokio::spawn(fut),
    }
}

/// `tokio::task::spawn_blocking` that carries the current request id and span.
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = Span::current();
    let id = current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        match id {
            Some(id) => CURRENT.sync_scope(id, f),
            None => f(),
        }
    })
}

/// Runs `f` with `span`'s subscriber and the span's registry data, when the subscriber is
/// built on a [`Registry`]: one look-up for everything the request's start stores on its span.
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) fn with_span_data<R>(
    span: &Span,
    f: impl FnOnce(&Dispatch, &SpanRef<'_, Registry>) -> R,
) -> Option<R> {
    span.with_subscriber(|(span_id, dispatch)| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        Some(f(dispatch, &registry.span(span_id)?))
    })
    .flatten()
}

/// Stores `id` on the span of `data`, so [`current()`] finds it through the span alone.
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) fn attach_to_span(data: &SpanRef<'_, Registry>, id: &RequestId) {
    data.extensions_mut().insert(id.clone());
}

/// The id stored on the current span or the nearest ancestor that has one.
fn from_span() -> Option<RequestId> {
    Span::current()
        .with_subscriber(|(span_id, dispatch)| {
            let registry = dispatch.downcast_ref::<Registry>()?;
            let span = registry.span(span_id)?;
            span.scope()
                .find_map(|s| s.extensions().get::<RequestId>().cloned())
        })
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> RequestId {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn none_outside_a_request() {
        assert_eq!(current(), None);
        scope(id("a"), async {}).await;
        assert_eq!(current(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spawn_carries_the_id() {
        let seen = scope(id("spawned"), async {
            spawn(async { current() }).await.unwrap()
        })
        .await;
        assert_eq!(seen, Some(id("spawned")));
        assert_eq!(tokio::spawn(async { current() }).await.unwrap(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spawn_blocking_carries_the_id() {
        let seen = scope(id("blocking"), async {
            spawn_blocking(current).await.unwrap()
        })
        .await;
        assert_eq!(seen, Some(id("blocking")));
    }

    #[tokio::test]
    async fn nested_scopes_restore_the_outer_id() {
        scope(id("outer"), async {
            scope(id("inner"), async {
                assert_eq!(current(), Some(id("inner")))
            })
            .await;
            assert_eq!(current(), Some(id("outer")));
        })
        .await;
    }
}
