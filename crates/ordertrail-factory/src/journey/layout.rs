//! The waterfall's columns at a given width: how wide the service, operation and bar columns
//! are, the bars themselves, and [`Output`], lines cut to fit with `…` and then painted.
//!
//! A row is `F SERVICE OPERATION STATUS START DURATION  |BAR|`. The status, start and duration
//! columns keep their width; the service column takes its widest name (up to a limit); the
//! operation and the bar share what is left, the bar getting a fifth and at least
//! [`MIN_BAR`] columns. Below that the bar column is left out: the start and duration columns
//! say the same in numbers.

use std::fmt::Write as _;

use super::render::RenderOptions;

/// Columns of everything but the service, operation and bar: the flag and the spaces around
/// the columns, status (6), start (9) and duration (9).
const FIXED: usize = 2 + 1 + (1 + 6) + (1 + 9) + (1 + 9);
/// The bar's frame: two spaces and the two `|`.
const BAR_FRAME: usize = 4;
/// Narrowest bar worth drawing.
pub(super) const MIN_BAR: usize = 10;
/// Widest bar; more columns do not make it more readable.
const MAX_BAR: usize = 60;
/// Narrowest and widest operation column.
const OPERATION: (usize, usize) = ("OPERATION".len(), 56);
/// Narrowest and widest service column.
const SERVICE: (usize, usize) = ("SERVICE".len(), 12);

/// How bars are drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Bars {
    /// Block characters and a box-drawing axis, for a terminal.
    Blocks,
    /// `#` and `-` only, for files, pipes and anything that is not a terminal.
    #[default]
    Ascii,
}

impl Bars {
    /// The character filling a bar.
    const fn fill(self) -> char {
        match self {
            Self::Blocks => '█',
            Self::Ascii => '#',
        }
    }

    /// The character of the axis line.
    const fn axis(self) -> char {
        match self {
            Self::Blocks => '─',
            Self::Ascii => '-',
        }
    }
}

/// The widths of one waterfall's variable columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Columns {
    /// The service column.
    pub(super) service: usize,
    /// The operation column.
    pub(super) operation: usize,
    /// The bar, without its frame; 0 when there is no bar column.
    pub(super) bar: usize,
}

impl Columns {
    /// Fits rows into `width` columns, given the widest service name and operation label.
    pub(super) fn fit(width: usize, widest_service: usize, widest_label: usize) -> Self {
        let service = widest_service.clamp(SERVICE.0, SERVICE.1);
        let wanted = widest_label.clamp(OPERATION.0, OPERATION.1);
        let rest = width.saturating_sub(service + FIXED);
        let shared = rest.saturating_sub(BAR_FRAME);
        if shared < OPERATION.0 + MIN_BAR {
            let operation = wanted.min(rest).max(OPERATION.0);
            return Self {
                service,
                operation,
                bar: 0,
            };
        }
        let least_bar = (shared / 5).clamp(MIN_BAR, MAX_BAR);
        let operation = wanted.min(shared - least_bar);
        Self {
            service,
            operation,
            bar: (shared - operation).min(MAX_BAR),
        }
    }
}

/// The text being written, every line cut to the width, then painted.
pub(super) struct Output {
    /// What was written.
    pub(super) text: String,
    options: RenderOptions,
}

impl Output {
    pub(super) fn new(options: RenderOptions) -> Self {
        Self {
            text: String::new(),
            options,
        }
    }

    /// Writes `line`, cut to the width.
    pub(super) fn line(&mut self, line: &str) {
        self.painted(line, None);
    }

    /// Writes `line`, cut to the width, in `colour` when colour is on.
    pub(super) fn painted(&mut self, line: &str, colour: Option<&str>) {
        let line = cut(line, self.options.width);
        match colour {
            Some(code) if self.options.colour => {
                let _ = writeln!(self.text, "\x1b[{code}m{line}\x1b[0m");
            }
            _ => {
                let _ = writeln!(self.text, "{line}");
            }
        }
    }
}

/// A bar of `width` characters for a span starting `offset` into a trace of `total`, lasting
/// `duration`; always at least one character.
pub(super) fn bar(offset: u64, duration: u64, total: u64, width: usize, bars: Bars) -> String {
    if width == 0 {
        return String::new();
    }
    let scale = |n: u64| {
        let scaled = u128::from(n) * width as u128 / u128::from(total.max(1));
        usize::try_from(scaled).unwrap_or(width)
    };
    let start = scale(offset).min(width - 1);
    let len = scale(duration).clamp(1, width - start);
    let fill: String = std::iter::repeat_n(bars.fill(), len).collect();
    format!(
        "{:start$}{fill}{:rest$}",
        "",
        "",
        rest = width - start - len
    )
}

/// The axis over the bars: `0 ───── 9.80ms`, or only the total when the bar is narrow.
pub(super) fn axis(total: &str, width: usize, bars: Bars) -> String {
    let line = width.saturating_sub(total.chars().count() + 3);
    if line == 0 {
        return format!("{total:>width$}");
    }
    let fill: String = std::iter::repeat_n(bars.axis(), line).collect();
    format!("0 {fill} {total}")
}

/// `text` cut to `width` characters, with `…` when cut.
pub(super) fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_takes_what_the_operation_does_not_need() {
        let wide = Columns::fit(160, 9, 30);
        assert_eq!((wide.operation, wide.bar), (30, MAX_BAR));
        let narrow = Columns::fit(80, 9, 46);
        assert_eq!(
            narrow.service + narrow.operation + narrow.bar,
            80 - FIXED - BAR_FRAME
        );
        assert!(narrow.bar >= MIN_BAR && narrow.operation < 46, "{narrow:?}");
    }

    #[test]
    fn too_narrow_for_a_bar_leaves_it_out() {
        let columns = Columns::fit(60, 9, 46);
        assert_eq!(columns.bar, 0);
        assert_eq!(columns.service + columns.operation, 60 - FIXED);
    }

    #[test]
    fn bars_stay_inside_the_axis() {
        assert_eq!(bar(0, 100, 100, 28, Bars::Blocks).chars().count(), 28);
        let late = bar(100, 0, 100, 28, Bars::Ascii);
        assert_eq!(late.chars().filter(|c| *c == '#').count(), 1);
        assert!(late.ends_with('#'), "{late:?}");
        assert_eq!(axis("9.80ms", 20, Bars::Ascii), "0 ----------- 9.80ms");
        assert_eq!(axis("9.80ms", 8, Bars::Ascii), "  9.80ms");
    }

    #[test]
    fn cut_marks_what_it_cut() {
        assert_eq!(cut("inventory", 9), "inventory");
        assert_eq!(cut("inventory", 5), "inve…");
    }
}
