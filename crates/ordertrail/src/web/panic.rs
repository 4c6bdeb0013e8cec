//! [`CatchPanicLayer`]: a handler's panic becomes a 500 JSON error instead of a dropped
//! connection, inside the request's span and scope.
//!
//! tower-http's `CatchPanicLayer` serves any body type, so it boxes every response body (and
//! axum boxes that box again); this one serves axum's `Body` and passes it through untouched.

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::response::Response;
use http::{Request, StatusCode};
use tower::{Layer, Service};

use super::error_response;

/// Wraps a service so that a panic in its `call` or its future answers 500.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CatchPanicLayer;

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CatchPanic { inner }
    }
}

/// The service [`CatchPanicLayer`] makes.
#[derive(Debug, Clone)]
pub(crate) struct CatchPanic<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for CatchPanic<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = PanicFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match catch_unwind(AssertUnwindSafe(|| self.inner.call(req))) {
            Ok(future) => PanicFuture::Running { future },
            Err(payload) => PanicFuture::Panicked {
                response: Some(panic_response(payload)),
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`CatchPanic`].
    #[project = Projected]
    pub(crate) enum PanicFuture<F> {
        /// The inner service's future.
        Running { #[pin] future: F },
        /// `call` itself panicked: the answer is ready.
        Panicked { response: Option<Response> },
    }
}

impl<F> Future for PanicFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Projected::Running { future } => {
                let polled = catch_unwind(AssertUnwindSafe(|| future.poll(cx)));
                polled.unwrap_or_else(|payload| Poll::Ready(Ok(panic_response(payload))))
            }
            Projected::Panicked { response } => {
                let response = response
                    .take()
                    .unwrap_or_else(|| panic_response(Box::new(())));
                Poll::Ready(Ok(response))
            }
        }
    }
}

/// The response for a panicked handler. The panic itself was logged by the panic hook.
fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> Response {
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error",
        "handler panicked".into(),
    )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use tower::{ServiceExt, service_fn};

    use super::*;

    async fn status_of<S>(service: S) -> StatusCode
    where
        S: Service<Request<Body>, Response = Response, Error = Infallible>,
    {
        let request = Request::new(Body::empty());
        let Ok(res) = CatchPanicLayer.layer(service).oneshot(request).await;
        res.status()
    }

    #[tokio::test]
    async fn a_panic_in_the_future_answers_500() {
        let service = service_fn(|_: Request<Body>| async {
            if true {
                panic!("a handler bug");
            }
            Ok::<Response, Infallible>(Response::default())
        });
        assert_eq!(status_of(service).await, StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[tokio::test]
    async fn a_panic_in_call_answers_500() {
        #[derive(Clone)]
        struct PanicsInCall;
        impl Service<Request<Body>> for PanicsInCall {
            type Response = Response;
            type Error = Infallible;
            type Future = std::future::Ready<Result<Response, Infallible>>;
            fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
                Poll::Ready(Ok(()))
            }
            fn call(&mut self, _: Request<Body>) -> Self::Future {
                panic!("a bug before the future")
            }
        }
        assert_eq!(
            status_of(PanicsInCall).await,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[tokio::test]
    async fn an_answer_passes_through_untouched() {
        let service = service_fn(|_: Request<Body>| async {
            let mut res = Response::new(Body::from("kept"));
            *res.status_mut() = StatusCode::ACCEPTED;
            Ok::<Response, Infallible>(res)
        });
        assert_eq!(status_of(service).await, StatusCode::ACCEPTED);
    }
}
