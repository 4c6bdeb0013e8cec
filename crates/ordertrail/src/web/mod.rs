//! The server side: the standard middleware on a router, a JSON error body that carries the
//! request id, and serving on a bound listener with a graceful shutdown.
//!
//! # Layout
//! - `error`: [`ErrorBody`], the body of every error answer, and [`error_response`].
//! - `stack`: [`instrument`], which puts the standard middleware on a router.
//! - `server`: [`serve`], for an already bound listener and a shutdown future.

mod error;
mod server;
mod stack;

pub use error::{ErrorBody, error_response};
pub use server::{serve, shutdown_signal};
pub use stack::{BODY_LIMIT, instrument};
