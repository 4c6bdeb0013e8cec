//! What every service shares on the server side: errors, JSON bodies, the middleware stack,
//! and serving on a bound listener with graceful shutdown.
//!
//! # Layout
//! - `error`: [`AppError`], the one error type handlers return, and its JSON body.
//! - `body`: [`AppJson`], a JSON extractor whose rejections are [`AppError`]s.
//! - `stack`: [`instrument`], which puts the standard middleware on a router.
//! - `server`: [`serve`], for an already bound listener and a shutdown future.

mod body;
mod error;
mod server;
mod stack;

pub use body::AppJson;
pub use error::{AppError, ErrorBody};
pub use server::{serve, shutdown_signal};
pub use stack::{BODY_LIMIT, instrument};
