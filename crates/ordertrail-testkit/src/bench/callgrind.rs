//! What a `valgrind --tool=callgrind` output file says was executed: [`instructions`] in all,
//! and a [`Profile`] of instructions per function, inclusive of what each function called.
//!
//! The profile is read from the output file itself (callgrind's documented, versioned format:
//! `fn=`, `cfn=`, `calls=` and cost lines, with name compression), not from
//! `callgrind_annotate`'s report, whose layout is made for people and changed between
//! valgrind releases.
//!
//! ```
//! use ordertrail_testkit::bench::callgrind::Profile;
//!
//! let out = "events: Ir\nfn=(1) main\n1 10\ncfn=(2) work\ncalls=3 5\n2 300\nfn=(2)\n5 300\n";
//! let profile = Profile::parse(out);
//! assert_eq!(profile.inclusive("main"), Some(310));
//! assert_eq!(profile.calls("work"), 3);
//! assert_eq!(profile.inclusive("idle"), None);
//! ```

use std::collections::HashMap;

/// The `summary:` (or `totals:`) line of a callgrind output's text: instructions executed.
pub fn instructions(callgrind_out: &str) -> Option<u64> {
    callgrind_out
        .lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|n| n.trim().parse().ok())
}

/// Instructions (the first event, `Ir`) per function name, summed over every object, file
/// and thread the function appears in.
#[derive(Debug, Default, Clone)]
pub struct Profile {
    functions: HashMap<String, Costs>,
}

/// What one function name adds up to.
#[derive(Debug, Default, Clone, Copy)]
struct Costs {
    /// Instructions executed in the function itself.
    own: u64,
    /// Instructions executed in what it called, call by call (calls to itself left out).
    callees: u64,
    /// How many times it was called.
    calls: u64,
}

impl Profile {
    /// Reads a callgrind output file's text. Lines it does not know are skipped.
    pub fn parse(callgrind_out: &str) -> Self {
        let mut reader = Reader::new(callgrind_out);
        for line in callgrind_out.lines() {
            reader.line(line);
        }
        Self {
            functions: reader.functions,
        }
    }

    /// Instructions executed in `function` and everything it called, over all its calls;
    /// `None` when no function of that exact name (as callgrind demangles it) ran.
    pub fn inclusive(&self, function: &str) -> Option<u64> {
        self.functions.get(function).map(|c| c.own + c.callees)
    }

    /// How many times `function` was called (0 when it never was).
    pub fn calls(&self, function: &str) -> u64 {
        self.functions.get(function).map_or(0, |c| c.calls)
    }

    /// The names of the functions that ran whose name contains `part`, sorted: what a
    /// "not found" message can suggest instead.
    pub fn names_containing(&self, part: &str) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .functions
            .keys()
            .map(String::as_str)
            .filter(|name| name.contains(part))
            .collect();
        names.sort_unstable();
        names
    }
}

/// The state of one pass over an output file.
struct Reader {
    functions: HashMap<String, Costs>,
    /// Names by compression id (`fn=(7) name` defines 7; `cfn=(7)` reuses it).
    names: HashMap<String, String>,
    /// The function whose cost lines follow.
    current: Option<String>,
    /// The function named by the last `cfn=`.
    callee: Option<String>,
    /// Set by `calls=`: the next cost line is that call's inclusive cost.
    in_call: bool,
    /// Columns of a cost line before its costs (`positions: instr line` has two).
    positions: usize,
}

impl Reader {
    fn new(text: &str) -> Self {
        let positions = text
            .lines()
            .find_map(|l| l.strip_prefix("positions:"))
            .map_or(1, |p| p.split_whitespace().count().max(1));
        Self {
            functions: HashMap::new(),
            names: HashMap::new(),
            current: None,
            callee: None,
            in_call: false,
            positions,
        }
    }

    fn line(&mut self, line: &str) {
        if let Some(spec) = line.strip_prefix("fn=") {
            self.current = Some(self.name(spec));
        } else if let Some(spec) = line.strip_prefix("cfn=") {
            self.callee = Some(self.name(spec));
        } else if let Some(call) = line.strip_prefix("calls=") {
            self.call(call);
        } else if line.starts_with(|c: char| c.is_ascii_digit() || "+-*".contains(c)) {
            self.cost(line);
        }
    }

    /// Resolves `(id) name` (defines id), `(id)` (reuses it) or a bare `name`.
    fn name(&mut self, spec: &str) -> String {
        let Some(rest) = spec.strip_prefix('(') else {
            return spec.to_owned();
        };
        let Some((id, name)) = rest.split_once(')') else {
            return spec.to_owned();
        };
        let name = name.trim();
        if name.is_empty() {
            return self.names.get(id).cloned().unwrap_or_default();
        }
        self.names.insert(id.to_owned(), name.to_owned());
        name.to_owned()
    }

    fn call(&mut self, call: &str) {
        self.in_call = true;
        let count: u64 = call
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if let Some(callee) = &self.callee {
            self.functions.entry(callee.clone()).or_default().calls += count;
        }
    }

    fn cost(&mut self, line: &str) {
        let ir: u64 = line
            .split_whitespace()
            .nth(self.positions)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let in_call = std::mem::take(&mut self.in_call);
        let Some(current) = &self.current else { return };
        let costs = self.functions.entry(current.clone()).or_default();
        if !in_call {
            costs.own += ir;
        } else if self.callee.as_ref() != Some(current) {
            costs.callees += ir;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary_or_the_totals_line() {
        assert_eq!(instructions("events: Ir\nsummary: 1234\n"), Some(1234));
        assert_eq!(instructions("events: Ir\ntotals: 99\n"), Some(99));
        assert_eq!(instructions("events: Ir\n"), None);
    }

    /// A file as callgrind writes it: compressed names reused across objects, relative
    /// positions, a call's inclusive cost on the line after `calls=`.
    const OUT: &str = "\
version: 1
positions: line
events: Ir
summary: 1000
ob=(1) /bin/app
fl=(1) src/main.rs
fn=(1) app::main
3 20
+1 5
cfn=(2) app::encode
calls=2 10
* 400
cfn=(3) app::walk
calls=1 30
+2 100
fn=(2)
10 400
fn=(3) app::walk
30 60
cfn=(3)
calls=4 30
* 40
ob=(2) /lib/libc.so
fl=(2) ???
fn=(2)
0 7
";

    #[test]
    fn sums_own_and_called_costs_per_function() {
        let profile = Profile::parse(OUT);
        assert_eq!(profile.inclusive("app::main"), Some(525));
        // Its own 400 in one object, 7 more under the same name in another.
        assert_eq!(profile.inclusive("app::encode"), Some(407));
        assert_eq!(profile.calls("app::encode"), 2);
    }

    #[test]
    fn leaves_calls_to_itself_out_of_a_function_inclusive_cost() {
        let profile = Profile::parse(OUT);
        assert_eq!(profile.inclusive("app::walk"), Some(60));
        assert_eq!(profile.calls("app::walk"), 5);
    }

    #[test]
    fn knows_no_function_that_did_not_run() {
        let profile = Profile::parse(OUT);
        assert_eq!(profile.inclusive("app::decode"), None);
        assert_eq!(profile.calls("app::decode"), 0);
        assert_eq!(profile.names_containing("::e"), ["app::encode"]);
    }

    #[test]
    fn reads_costs_after_two_position_columns() {
        let out = "positions: instr line\nevents: Ir\nfn=(1) f\n0x10 3 9\n+4 +1 2\n";
        assert_eq!(Profile::parse(out).inclusive("f"), Some(11));
    }
}
