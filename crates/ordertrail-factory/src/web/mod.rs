//! What the factory's handlers share: the HTTP error type and the JSON body extractor.
//!
//! # Layout
//! - `error`: [`AppError`], the one error type handlers return, and its JSON body.
//! - `body`: [`AppJson`], a JSON extractor whose rejections are [`AppError`]s.

mod body;
mod error;

pub use body::AppJson;
pub use error::AppError;
