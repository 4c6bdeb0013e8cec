//! [`Sources`]: where a journey's spans and log lines come from, and [`SourceError`].
//!
//! Spans come from Jaeger when one is given, otherwise from the local `traces.jsonl`; log
//! lines from Loki when one is given, otherwise from the local files. The local directory may
//! be missing when both are remote, or when one is and the other finds nothing locally.

use super::jaeger::{Jaeger, JaegerError};
use super::local::{LocalError, LocalFiles};
use super::loki::{Loki, LokiError};
use super::model::{Evidence, LogRecord, SpanRecord};
use super::tree::Journey;
use super::window::TimeWindow;

/// A source failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Reading the local files failed.
    #[error(transparent)]
    Local(#[from] LocalError),
    /// Querying Jaeger failed.
    #[error(transparent)]
    Jaeger(#[from] JaegerError),
    /// Querying Loki failed.
    #[error(transparent)]
    Loki(#[from] LokiError),
}

/// The sources to ask.
#[derive(Debug, Clone)]
pub struct Sources {
    local: LocalFiles,
    jaeger: Option<Jaeger>,
    loki: Option<Loki>,
    window: TimeWindow,
}

impl Sources {
    /// The local files only; `window` bounds the HTTP searches added later.
    pub fn local(local: LocalFiles, window: TimeWindow) -> Self {
        Self {
            local,
            jaeger: None,
            loki: None,
            window,
        }
    }

    /// Takes spans from Jaeger.
    #[must_use]
    pub fn jaeger(mut self, jaeger: Jaeger) -> Self {
        self.jaeger = Some(jaeger);
        self
    }

    /// Takes log lines from Loki.
    #[must_use]
    pub fn loki(mut self, loki: Loki) -> Self {
        self.loki = Some(loki);
        self
    }

    /// Everything the sources hold for `request_id`, arranged.
    pub async fn follow(&self, request_id: &str) -> Result<Journey, SourceError> {
        let spans = self.spans(request_id).await?;
        let trace_ids = Evidence::trace_ids_of(&spans, request_id);
        let logs = self.logs(request_id, &trace_ids).await?;
        Ok(Journey::build(request_id, Evidence { spans, logs }))
    }

    async fn spans(&self, request_id: &str) -> Result<Vec<SpanRecord>, SourceError> {
        match &self.jaeger {
            Some(jaeger) => Ok(jaeger.spans(request_id, &self.window).await?),
            None => self.local_or_empty(|local| local.spans(request_id)),
        }
    }

    async fn logs(
        &self,
        request_id: &str,
        trace_ids: &[String],
    ) -> Result<Vec<LogRecord>, SourceError> {
        match &self.loki {
            Some(loki) => Ok(loki.logs(request_id, &self.window).await?),
            None => self.local_or_empty(|local| local.logs(request_id, trace_ids)),
        }
    }

    /// A missing local directory is an error only when nothing is remote.
    fn local_or_empty<T>(
        &self,
        read: impl FnOnce(&LocalFiles) -> Result<Vec<T>, LocalError>,
    ) -> Result<Vec<T>, SourceError> {
        match read(&self.local) {
            Err(LocalError::NoDir(_)) if self.jaeger.is_some() || self.loki.is_some() => {
                Ok(Vec::new())
            }
            other => Ok(other?),
        }
    }
}
