//! How messages name a machine.
//!
//! `dora daemon` without `--machine-id` registers with the empty id: the default machine,
//! where nodes that name no machine run. Printed as is, that id gives messages like
//! "daemon `` was lost"; [`Machine`] names it in words instead.

use std::fmt;

/// A machine id as messages show it. Displays as "machine `A`", or "the default machine"
/// for the empty id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine<'a>(pub &'a str);

impl<'a> Machine<'a> {
    /// Whether this is the default machine (the empty id).
    pub fn is_default(self) -> bool {
        self.0.is_empty()
    }

    /// The machine's daemon: "daemon `A`", or "the default daemon".
    pub fn daemon(self) -> String {
        if self.is_default() {
            "the default daemon".to_owned()
        } else {
            format!("daemon `{}`", self.0)
        }
    }

    /// A short label for prefixes and lists: "A", or "default machine".
    pub fn label(self) -> &'a str {
        if self.is_default() {
            "default machine"
        } else {
            self.0
        }
    }
}

impl fmt::Display for Machine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_default() {
            f.write_str("the default machine")
        } else {
            write!(f, "machine `{}`", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Machine;

    #[test]
    fn the_default_machine_is_named_in_words() {
        let default = Machine("");
        assert_eq!(default.to_string(), "the default machine");
        assert_eq!(default.daemon(), "the default daemon");
        assert_eq!(default.label(), "default machine");
        let named = Machine("A");
        assert_eq!(named.to_string(), "machine `A`");
        assert_eq!(named.daemon(), "daemon `A`");
        assert_eq!(named.label(), "A");
    }
}
