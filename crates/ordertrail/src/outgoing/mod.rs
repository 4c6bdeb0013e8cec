//! Outgoing HTTP: a reqwest client whose every call carries the request id.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ordertrail::outgoing::ClientConfig;
//!
//! let client = ClientConfig::default().build()?;
//! // Inside a request, this call carries its `x-request-id`, logs one event with method,
//! // url, status and latency, and runs in a client span under the request span.
//! let res = client.get("http://127.0.0.1:8082/catalog").send().await?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - `client`: [`ClientConfig`], timeouts and the middleware stack.
//! - `propagate`: [`Propagate`], the middleware that sets headers and logs each call.

mod client;
mod propagate;

pub use client::{ClientConfig, ClientError};
pub use propagate::Propagate;
