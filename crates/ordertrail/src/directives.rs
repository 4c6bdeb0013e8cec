//! Filter directives as `RUST_LOG` writes them (`info,h2=off,[request{route=/orders}]=debug`):
//! when they are targets and levels alone, they are a [`Targets`] filter.

use tracing_subscriber::filter::Targets;

/// `directives` as a [`Targets`] filter, when they hold targets and levels only. Span and field
/// directives (`[request]`, `{route=/orders}`) need an `EnvFilter`: `None`, as for directives
/// that do not parse.
pub(crate) fn plain_targets(directives: &str) -> Option<Targets> {
    if directives.contains(['[', '{']) {
        return None;
    }
    directives.parse().ok()
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn targets_and_levels_are_plain_and_span_directives_are_not() {
        let targets = plain_targets("warn,app=debug").expect("plain");
        assert!(targets.would_enable("app::db", &Level::DEBUG));
        assert!(!targets.would_enable("other", &Level::INFO));
        assert!(plain_targets("info,[request]=debug").is_none());
        assert!(plain_targets("info,app[{route=/x}]=trace").is_none());
        assert!(plain_targets("app=loud").is_none());
    }
}
