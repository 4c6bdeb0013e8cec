//! The server side: the standard middleware on a router, a JSON error body that carries the
//! request id, and serving on a bound listener with a graceful shutdown.
//!
//! # Layout
//! - `error`: [`ErrorBody`], the body of every error answer, and [`error_response`].
//! - `stack`: [`instrument`], which puts the standard middleware on a router.
//! - `limits`: [`ServeConfig`], the timeouts and the connection cap of a listener.
//! - `server`: [`serve`] and [`serve_with`], for an already bound listener and a shutdown
//!   future.

mod error;
mod limits;
mod panic;
mod server;
mod stack;

pub use error::{ErrorBody, error_response};
pub use limits::ServeConfig;
pub use server::{serve, serve_with, shutdown_signal};
pub use stack::{BODY_LIMIT, instrument};
