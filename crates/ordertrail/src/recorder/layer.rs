//! [`Recorder`]: the layer that keeps a request's events below the output level, and its
//! per-layer filter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::{EnvFilter, FilterFn, Targets};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use super::budget::Budget;
use super::buffer::{Buffer, Limits};
use super::config::RecorderConfig;
use super::hold::Held;
use super::kept::KeptEvent;
use super::replay::{Marker, ReplaySink};
use super::state::RequestState;
use super::stats::{Count, RecorderStats};
use super::token::DebugKey;
use super::trigger::Trigger;
use crate::directives::plain_targets;
use crate::logging::FlatRecord;
use crate::logging::{store_span_fields, update_span_fields};
use crate::telemetry::EXPORTER_CRATES;

/// Crates whose own detail is never kept: the HTTP and export machinery under every request,
/// that is the exporter's crates and these.
const NOT_KEPT: [&str; 3] = ["tower_http", "tokio", "mio"];

/// The target of the panic hook's event.
const PANIC_TARGET: &str = "ordertrail::logging::panic";

/// A `tracing_subscriber` layer that keeps, per request, the events the outputs filter out,
/// and writes them to its [`ReplaySink`]s when the request ends badly (see the
/// [module docs](super)). [`telemetry::layers`](crate::telemetry::layers) installs it with the
/// filter from [`Recorder::filter`]; the server middleware tells it where requests begin and end.
#[derive(Clone)]
pub struct Recorder {
    pub(super) shared: Arc<Shared>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("config", &self.shared.config)
            .field("sinks", &self.shared.sinks.len())
            .finish()
    }
}

/// What every request's state shares: settings, counters, budget, outputs, held detail.
pub(crate) struct Shared {
    pub(crate) config: RecorderConfig,
    pub(crate) stats: Arc<RecorderStats>,
    pub(crate) budget: Arc<Budget>,
    pub(crate) held: Held,
    pub(crate) key: Option<DebugKey>,
    sinks: Vec<Arc<dyn ReplaySink>>,
    /// Bumped whenever a span records a field: span snapshots older than it are stale.
    generation: AtomicU64,
}

impl Shared {
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max_events: self.config.max_events,
            max_bytes: self.config.max_bytes,
        }
    }

    /// Reserves `bytes`, evicting held detail of completed requests to make room (the
    /// requests still running matter more); false when even that does not help.
    pub(crate) fn reserve(&self, bytes: usize) -> bool {
        for _ in 0..4 {
            if self.budget.try_reserve(bytes) {
                return true;
            }
            if !self.held.evict_oldest(&self.stats) {
                return false;
            }
        }
        self.budget.try_reserve(bytes)
    }

    /// Writes `buffer` to every output, marked with `trigger`.
    pub(crate) fn replay(&self, buffer: &Buffer, trigger: Trigger) {
        let marker = Marker {
            trigger,
            dropped: buffer.dropped(),
        };
        for sink in &self.sinks {
            for event in buffer.events() {
                sink.replay(event, &marker);
            }
        }
        self.stats.add(Count::ReplayedEvents, buffer.len() as u64);
    }
}

/// What a [`Recorder`] reports: its counters and its global budget.
#[derive(Debug, Clone)]
pub struct RecorderHandle {
    stats: Arc<RecorderStats>,
    budget: Arc<Budget>,
}

impl RecorderHandle {
    /// The counters.
    pub fn stats(&self) -> &RecorderStats {
        &self.stats
    }

    /// The global byte budget: limit, bytes in use, peak.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }
}

impl Recorder {
    /// A recorder with `config`, replaying into `sinks`.
    pub fn new(config: RecorderConfig, sinks: Vec<Arc<dyn ReplaySink>>) -> Self {
        let key = config.debug_secret.clone().map(DebugKey::new);
        Self {
            shared: Arc::new(Shared {
                budget: Arc::new(Budget::new(config.budget_bytes)),
                held: Held::new(config.hold_for, config.max_held),
                stats: Arc::default(),
                key,
                sinks,
                config,
                generation: AtomicU64::new(0),
            }),
        }
    }

    /// Its counters and budget, to read while it runs.
    pub fn handle(&self) -> RecorderHandle {
        RecorderHandle {
            stats: Arc::clone(&self.shared.stats),
            budget: Arc::clone(&self.shared.budget),
        }
    }

    /// The per-layer filter for a recorder next to outputs filtered by `output_directives`
    /// (the `RUST_LOG` syntax): it passes the events the outputs do not write, down to the
    /// configured level, plus every `ERROR` event (a signal, not kept), and the spans down to
    /// that level (a per-layer filter sees only the spans it enabled: the request span must be
    /// one). The outputs keep their own filter, so they still write only what they wrote
    /// before.
    ///
    /// The decision is made once per callsite and cached by `tracing`: a `debug!` outside
    /// any request costs the lookup of its request span and nothing more.
    pub fn filter(
        &self,
        output_directives: &str,
    ) -> FilterFn<impl Fn(&Metadata<'_>) -> bool + Send + Sync + 'static> {
        let written = Written::parse(output_directives);
        let level = self.shared.config.level;
        FilterFn::new(move |meta: &Metadata<'_>| {
            let wanted = if meta.is_span() {
                *meta.level() <= level
            } else {
                *meta.level() == Level::ERROR || (*meta.level() <= level && !written.writes(meta))
            };
            wanted && !not_kept(meta.target())
        })
        .with_max_level_hint(LevelFilter::from_level(level))
    }
}

fn not_kept(target: &str) -> bool {
    let root = target.split("::").next().unwrap_or(target);
    EXPORTER_CRATES.contains(&root) || NOT_KEPT.contains(&root)
}

/// What the outputs write, judged from an event's target and level alone.
enum Written {
    Targets(Box<Targets>),
    AtMost(LevelFilter),
}

impl Written {
    /// Directives with span or field filters do not parse as targets: then the most detailed
    /// level they enable anywhere is taken as written everywhere (keeping less, never twice).
    fn parse(directives: &str) -> Self {
        if let Some(targets) = plain_targets(directives) {
            return Self::Targets(Box::new(targets));
        }
        let filter = EnvFilter::builder().parse_lossy(directives);
        let hint = <EnvFilter as Layer<tracing_subscriber::Registry>>::max_level_hint(&filter);
        Self::AtMost(hint.unwrap_or(LevelFilter::TRACE))
    }

    fn writes(&self, meta: &Metadata<'_>) -> bool {
        match self {
            Self::Targets(targets) => targets.would_enable(meta.target(), meta.level()),
            Self::AtMost(max) => max >= meta.level(),
        }
    }
}

impl<S> Layer<S> for Recorder
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        store_span_fields(attrs, id, &ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        update_span_fields(id, values, &ctx);
        // Every span's record of its fields may now be stale (this span's, its children's).
        self.shared.generation.fetch_add(1, Ordering::Relaxed);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(leaf) = ctx.event_span(event) else {
            return;
        };
        let Some(request) = leaf
            .scope()
            .find(|span| span.extensions().get::<RequestState>().is_some())
        else {
            return;
        };
        let meta = event.metadata();
        if *meta.level() == Level::ERROR {
            if let Some(state) = request.extensions_mut().get_mut::<RequestState>() {
                state.signals.error_event = true;
                state.signals.panicked |= meta.target() == PANIC_TARGET;
            }
            return;
        }
        let kept = KeptEvent::new(event, self.spans_of(&leaf));
        if let Some(state) = request.extensions_mut().get_mut::<RequestState>() {
            state.keep(kept);
        }
    }
}

/// The flattened fields of a span and its ancestors, kept in the span while they are current.
struct Snapshot {
    generation: u64,
    record: Arc<FlatRecord>,
}

impl Recorder {
    /// The record of `leaf`'s spans: the one kept in `leaf` when no span changed its fields
    /// since, else a fresh one (then kept). Every event of a span shares it.
    fn spans_of<'a, R: LookupSpan<'a> + 'a>(&self, leaf: &SpanRef<'a, R>) -> Arc<FlatRecord> {
        let generation = self.shared.generation.load(Ordering::Relaxed);
        if let Some(snapshot) = leaf.extensions().get::<Snapshot>()
            && snapshot.generation == generation
        {
            return Arc::clone(&snapshot.record);
        }
        let mut record = FlatRecord::default();
        record.fill_spans(leaf.scope().from_root());
        let record = Arc::new(record);
        let snapshot = Snapshot {
            generation,
            record: Arc::clone(&record),
        };
        leaf.extensions_mut().replace(snapshot);
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passes(recorder: &Recorder, directives: &str, meta: &'static Metadata<'static>) -> bool {
        let filter = recorder.filter(directives);
        tracing_subscriber::layer::Filter::<tracing_subscriber::Registry>::callsite_enabled(
            &filter, meta,
        )
        .is_always()
    }

    macro_rules! meta {
        ($level:expr, $target:expr) => {
            meta!($level, $target, tracing::metadata::Kind::EVENT)
        };
        ($level:expr, $target:expr, $kind:expr) => {{
            static CALLSITE: tracing::callsite::DefaultCallsite = {
                static META: Metadata<'static> = tracing::metadata! {
                    name: "e",
                    target: $target,
                    level: $level,
                    fields: &[],
                    callsite: &CALLSITE,
                    kind: $kind,
                };
                tracing::callsite::DefaultCallsite::new(&META)
            };
            tracing::callsite::Callsite::metadata(&CALLSITE)
        }};
    }

    #[test]
    fn the_filter_passes_what_the_outputs_leave_out_and_errors() {
        let recorder = Recorder::new(RecorderConfig::default(), Vec::new());
        let debug = meta!(Level::DEBUG, "orders::workflow");
        let trace = meta!(Level::TRACE, "orders::workflow");
        let info = meta!(Level::INFO, "orders::workflow");
        let error = meta!(Level::ERROR, "orders::workflow");
        let hyper = meta!(Level::DEBUG, "hyper::proto");
        let span = meta!(
            Level::INFO,
            "ordertrail::correlation",
            tracing::metadata::Kind::SPAN
        );
        assert!(passes(&recorder, "info", debug));
        assert!(
            !passes(&recorder, "info", trace),
            "above the recorder's level"
        );
        assert!(!passes(&recorder, "info", info), "the outputs write it");
        assert!(passes(&recorder, "info", error), "a signal");
        assert!(!passes(&recorder, "info", hyper), "machinery is never kept");
        assert!(passes(&recorder, "info", span), "the request span is seen");
        assert!(
            !passes(&recorder, "info,orders=debug", debug),
            "written already"
        );
        assert!(
            !passes(&recorder, "info,[request]=debug", debug),
            "may be written"
        );
    }
}
