//! What the factory's handlers share: the HTTP error type and the JSON body extractor.
//!
//! # Layout
//! - `error`: [`AppError`], the one error type handlers return, its JSON body, and [`Chain`],
//!   the source chain it logs.
//! - `body`: [`AppJson`], a JSON extractor whose rejections are [`AppError`]s.
//! - `path`: [`AppPath`], path parameters whose rejections are [`AppError`]s.

mod body;
mod error;
mod path;

pub use body::AppJson;
pub use error::{AppError, BoxError, Chain};
pub use path::AppPath;
