//! A YAML tree that remembers where every value is written.
//!
//! We drive the `yaml-rust2` event parser ourselves instead of using a ready-made tree
//! (`marked-yaml`, `yaml_rust2::YamlLoader`) because those recurse once per nesting level and
//! panic on some inputs (aliases, several documents); a dataflow file comes from users and
//! must never crash the tool. The loader here:
//!
//! - builds the tree with an explicit stack and refuses nesting deeper than [`MAX_DEPTH`],
//!   so neither building, walking nor dropping the tree can overflow the stack;
//! - resolves aliases (`*name`) by copying the anchored value, with budgets of
//!   [`MAX_VALUES`] values and [`MAX_EXPANDED_BYTES`] bytes of text in total, checked before
//!   the copy, so that "billion laughs" files are refused before they cost memory;
//! - refuses map keys longer than [`MAX_KEY_BYTES`];
//! - accepts one document per file, and only the standard tags (`!!str`, `!!int`, ...);
//! - keeps, for each scalar, whether it was written plain (unquoted), because `8` is a number
//!   and `"8"` a string.
//!
//! Duplicate keys are kept here and reported by the descriptor walker, which knows the field
//! names.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::model::Location;

use crate::limits::{MAX_DEPTH, MAX_EXPANDED_BYTES, MAX_KEY_BYTES, MAX_VALUES};
use crate::suggest::quote;

/// A scalar value: YAML keeps all scalars as text; the walker decides what they mean.
#[derive(Debug, Clone)]
pub(crate) struct Scalar {
    /// The text, quotes and escapes resolved.
    pub value: String,
    /// Written without quotes or block style (`8` rather than `"8"` or `|`).
    pub plain: bool,
    /// Where the value starts.
    pub location: Location,
}

impl Scalar {
    /// YAML null: `~`, `null` or nothing at all.
    pub fn is_null(&self) -> bool {
        self.plain && matches!(self.value.as_str(), "" | "~" | "null" | "Null" | "NULL")
    }

    /// YAML 1.2 core schema boolean.
    pub fn as_bool(&self) -> Option<bool> {
        if !self.plain {
            return None;
        }
        match self.value.as_str() {
            "true" | "True" | "TRUE" => Some(true),
            "false" | "False" | "FALSE" => Some(false),
            _ => None,
        }
    }

    /// YAML 1.2 core schema integer (decimal, `0x` hexadecimal, `0o` octal).
    pub fn as_i64(&self) -> Option<i64> {
        if !self.plain {
            return None;
        }
        let v = self.value.as_str();
        let (negative, digits) = match v.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, v.strip_prefix('+').unwrap_or(v)),
        };
        let magnitude = if let Some(hex) = digits.strip_prefix("0x") {
            i64::from_str_radix(hex, 16).ok()?
        } else if let Some(oct) = digits.strip_prefix("0o") {
            i64::from_str_radix(oct, 8).ok()?
        } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            // Parse with the sign so that i64::MIN is accepted.
            return v.parse().ok();
        } else {
            return None;
        };
        Some(if negative { -magnitude } else { magnitude })
    }

    /// YAML 1.2 core schema float (including `.inf`, `-.inf` and `.nan`).
    pub fn as_f64(&self) -> Option<f64> {
        if !self.plain {
            return None;
        }
        let v = self.value.as_str();
        match v {
            ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Some(f64::INFINITY),
            "-.inf" | "-.Inf" | "-.INF" => Some(f64::NEG_INFINITY),
            ".nan" | ".NaN" | ".NAN" => Some(f64::NAN),
            // Rust also parses `inf`, `nan` and `infinity`, which are strings in YAML.
            _ if v.bytes().any(|b| b.is_ascii_digit())
                && v.bytes().all(|b| {
                    b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')
                }) =>
            {
                v.parse().ok()
            }
            _ => None,
        }
    }

    /// What the value looks like, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        if self.is_null() {
            "nothing (null)"
        } else if self.as_bool().is_some() {
            "a boolean"
        } else if self.as_i64().is_some() || self.as_f64().is_some() {
            "a number"
        } else {
            "a string"
        }
    }
}

/// A YAML value with its position.
#[derive(Debug, Clone)]
pub(crate) enum Yaml {
    /// A scalar (null, boolean, number or string, all kept as text).
    Scalar(Scalar),
    /// A list.
    Sequence {
        /// The items, in order.
        items: Vec<Yaml>,
        /// Where the list starts.
        location: Location,
    },
    /// A map; keys are scalars.
    Mapping {
        /// The entries, in order.
        entries: Vec<(Scalar, Yaml)>,
        /// Where the map starts.
        location: Location,
    },
}

impl Yaml {
    /// The value as a boolean, when it is a scalar that reads as one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Yaml::Scalar(s) => s.as_bool(),
            _ => None,
        }
    }

    /// The value as an integer, when it is a scalar that reads as one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Yaml::Scalar(s) => s.as_i64(),
            _ => None,
        }
    }

    /// The value as a number, when it is a scalar that reads as one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Yaml::Scalar(s) => s.as_f64(),
            _ => None,
        }
    }

    /// Where the value starts.
    pub fn location(&self) -> Location {
        match self {
            Yaml::Scalar(s) => s.location,
            Yaml::Sequence { location, .. } | Yaml::Mapping { location, .. } => *location,
        }
    }

    /// What the value looks like, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Yaml::Scalar(s) => s.kind(),
            Yaml::Sequence { .. } => "a list",
            Yaml::Mapping { .. } => "a map",
        }
    }

    /// True for a null scalar (`~`, `null`, or a key without value).
    pub fn is_null(&self) -> bool {
        matches!(self, Yaml::Scalar(s) if s.is_null())
    }
}

/// Why a text is not a YAML document we can read.
#[derive(Debug)]
pub(crate) struct LoadError {
    /// Where the problem is.
    pub location: Location,
    /// Where in the tree the loader was (`nodes[1].inputs`), empty at the top.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// A list or map being built.
enum Frame {
    Sequence {
        items: Vec<Yaml>,
        location: Location,
        anchor: usize,
        first_value: usize,
        first_byte: usize,
    },
    Mapping {
        entries: Vec<(Scalar, Yaml)>,
        key: Option<Scalar>,
        location: Location,
        anchor: usize,
        first_value: usize,
        first_byte: usize,
    },
}

/// Builds the tree from parser events.
struct Loader {
    stack: Vec<Frame>,
    /// Finished anchored values by anchor id, with their size in values and in bytes.
    anchors: HashMap<usize, (Yaml, Size)>,
    root: Option<Yaml>,
    documents: usize,
    values: usize,
    /// Bytes of scalar text so far, aliases expanded.
    bytes: usize,
}

/// What a value costs: how many values and how many bytes of scalar text it holds.
#[derive(Debug, Clone, Copy)]
struct Size {
    values: usize,
    bytes: usize,
}

/// Reads one YAML document. `Ok(None)` means the text holds no document (empty, or only
/// comments).
pub(crate) fn load(text: &str) -> Result<Option<Yaml>, LoadError> {
    let mut parser = Parser::new_from_str(text);
    let mut loader = Loader {
        stack: Vec::new(),
        anchors: HashMap::new(),
        root: None,
        documents: 0,
        values: 0,
        bytes: 0,
    };
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            Err(error) => {
                return Err(loader.error(location(error.marker()), yaml_message(error.info())))
            }
        };
        if event == Event::StreamEnd {
            break;
        }
        loader.on_event(event, location(&mark))?;
    }
    Ok(loader.root)
}

fn location(mark: &Marker) -> Location {
    Location {
        line: mark.line().max(1),
        column: mark.col() + 1,
    }
}

/// Rewords the parser's messages where they are cryptic.
fn yaml_message(info: &str) -> String {
    let info = info.trim();
    if info.contains("found character that cannot start any token") {
        format!("invalid YAML: {info} (tabs cannot indent YAML; use spaces)")
    } else {
        format!("invalid YAML: {info}")
    }
}

impl Loader {
    fn on_event(&mut self, event: Event, location: Location) -> Result<(), LoadError> {
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => Ok(()),
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(self.error(
                        location,
                        "a dataflow file holds a single YAML document, found a second one \
                         (remove the `---` line)",
                    ));
                }
                Ok(())
            }
            Event::Alias(id) => self.alias(id, location),
            Event::Scalar(value, style, anchor, tag) => {
                let plain = style == TScalarStyle::Plain && !self.is_str_tag(tag, location)?;
                let size = Size {
                    values: 1,
                    bytes: value.len(),
                };
                self.count(size, location)?;
                let scalar = Scalar {
                    value,
                    plain,
                    location,
                };
                self.finish_value(Yaml::Scalar(scalar), anchor, size)
            }
            Event::SequenceStart(anchor, tag) => {
                self.check_collection_tag(tag, "seq", location)?;
                self.start(location)?;
                self.stack.push(Frame::Sequence {
                    items: Vec::new(),
                    location,
                    anchor,
                    first_value: self.values,
                    first_byte: self.bytes,
                });
                Ok(())
            }
            Event::MappingStart(anchor, tag) => {
                self.check_collection_tag(tag, "map", location)?;
                self.start(location)?;
                self.stack.push(Frame::Mapping {
                    entries: Vec::new(),
                    key: None,
                    location,
                    anchor,
                    first_value: self.values,
                    first_byte: self.bytes,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => self.end_collection(location),
        }
    }

    /// An `*alias`: a copy of its anchored value, counted (values and bytes) before the copy
    /// is made, so that a refused alias allocates nothing.
    fn alias(&mut self, id: usize, location: Location) -> Result<(), LoadError> {
        let Some(size) = self.anchors.get(&id).map(|(_, size)| *size) else {
            return Err(self.error(location, "alias to an unknown anchor"));
        };
        // Counted before the copy: a refused alias allocates nothing.
        self.count(size, location)?;
        let Some((value, _)) = self.anchors.get(&id).cloned() else {
            return Err(self.error(location, "alias to an unknown anchor"));
        };
        self.finish_value(relocated(value, location), 0, size)
    }

    /// The end of a list or map: the value is complete, with its size.
    fn end_collection(&mut self, location: Location) -> Result<(), LoadError> {
        let (value, anchor, first_value, first_byte) = match self.stack.pop() {
            Some(Frame::Sequence {
                items,
                location,
                anchor,
                first_value,
                first_byte,
            }) => (
                Yaml::Sequence { items, location },
                anchor,
                first_value,
                first_byte,
            ),
            Some(Frame::Mapping {
                entries,
                location,
                anchor,
                first_value,
                first_byte,
                ..
            }) => {
                // The parser marks a block map after its first key; the key is the
                // place to point at.
                let location = match entries.first() {
                    Some((key, _)) => location.min(key.location),
                    None => location,
                };
                (
                    Yaml::Mapping { entries, location },
                    anchor,
                    first_value,
                    first_byte,
                )
            }
            None => return Err(self.error(location, "invalid YAML: unbalanced document")),
        };
        // The list or map itself was counted just before `first_value`.
        let size = Size {
            values: self.values - first_value + 1,
            bytes: self.bytes - first_byte,
        };
        self.finish_value(value, anchor, size)
    }

    /// Checks that a list or map may start here.
    fn start(&mut self, location: Location) -> Result<(), LoadError> {
        if matches!(self.stack.last(), Some(Frame::Mapping { key: None, .. })) {
            return Err(self.error(
                location,
                "a map key must be a plain value, not a list or a map",
            ));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(
                location,
                format!("values are nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        self.count(
            Size {
                values: 1,
                bytes: 0,
            },
            location,
        )
    }

    /// Places a finished value into its parent (or makes it the document).
    fn finish_value(&mut self, value: Yaml, anchor: usize, size: Size) -> Result<(), LoadError> {
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), size));
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(value);
                Ok(())
            }
            Some(Frame::Sequence { items, .. }) => {
                items.push(value);
                Ok(())
            }
            Some(Frame::Mapping { entries, key, .. }) => {
                match key.take() {
                    Some(k) => {
                        // A key without value: the parser marks the empty value wherever the
                        // next token starts, often lines below; point at the key instead.
                        let value = match value {
                            Yaml::Scalar(mut s) if s.plain && s.value.is_empty() => {
                                s.location = k.location;
                                Yaml::Scalar(s)
                            }
                            other => other,
                        };
                        entries.push((k, value));
                    }
                    None => match value {
                        Yaml::Scalar(scalar) if scalar.value.len() > MAX_KEY_BYTES => {
                            let location = scalar.location;
                            let message = format!(
                                "the key {} is longer than {MAX_KEY_BYTES} bytes",
                                quote(&scalar.value)
                            );
                            return Err(self.error(location, message));
                        }
                        Yaml::Scalar(scalar) => *key = Some(scalar),
                        other => {
                            return Err(self.error(
                                other.location(),
                                "a map key must be a plain value, not a list or a map",
                            ))
                        }
                    },
                }
                Ok(())
            }
        }
    }

    /// Adds a value's cost to the totals; refuses it when a total goes over its budget.
    fn count(&mut self, size: Size, location: Location) -> Result<(), LoadError> {
        self.values = self.values.saturating_add(size.values);
        self.bytes = self.bytes.saturating_add(size.bytes);
        if self.values > MAX_VALUES {
            return Err(self.error(
                location,
                format!("the file holds more than {MAX_VALUES} values (aliases expanded)"),
            ));
        }
        if self.bytes > MAX_EXPANDED_BYTES {
            return Err(self.error(
                location,
                format!(
                    "the file holds more than {MAX_EXPANDED_BYTES} bytes of text once its \
                     aliases are expanded"
                ),
            ));
        }
        Ok(())
    }

    /// Standard scalar tags are accepted; `!!str` makes the value a string.
    fn is_str_tag(&self, tag: Option<Tag>, location: Location) -> Result<bool, LoadError> {
        match tag {
            None => Ok(false),
            Some(tag) if is_standard(&tag) => Ok(tag.suffix == "str"),
            Some(tag) => Err(self.error(
                location,
                format!(
                    "unsupported YAML tag `{}{}`: only standard tags such as `!!str` are accepted",
                    tag.handle, tag.suffix
                ),
            )),
        }
    }

    fn check_collection_tag(
        &self,
        tag: Option<Tag>,
        expected: &str,
        location: Location,
    ) -> Result<(), LoadError> {
        match tag {
            Some(tag) if !(is_standard(&tag) && tag.suffix == expected) => Err(self.error(
                location,
                format!("unsupported YAML tag `{}{}` here", tag.handle, tag.suffix),
            )),
            _ => Ok(()),
        }
    }

    fn error(&self, location: Location, message: impl Into<String>) -> LoadError {
        LoadError {
            location,
            field: self.path(),
            message: message.into(),
        }
    }

    /// The field path of the value being read, such as `nodes[1].inputs.tick`.
    fn path(&self) -> String {
        let mut path = String::new();
        for frame in &self.stack {
            match frame {
                Frame::Sequence { items, .. } => path.push_str(&format!("[{}]", items.len())),
                Frame::Mapping { key: Some(k), .. } => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&crate::suggest::shortened(&k.value));
                }
                Frame::Mapping { key: None, .. } => break,
            }
        }
        path
    }
}

fn is_standard(tag: &Tag) -> bool {
    (tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:")
        && matches!(
            tag.suffix.as_str(),
            "str" | "int" | "float" | "bool" | "null" | "map" | "seq"
        )
}

/// An alias takes the anchored value; its position stays that of the anchored value, except
/// for the outermost one, which points at the alias so that messages about it point there.
fn relocated(value: Yaml, location: Location) -> Yaml {
    match value {
        Yaml::Scalar(mut s) => {
            s.location = location;
            Yaml::Scalar(s)
        }
        Yaml::Sequence { items, .. } => Yaml::Sequence { items, location },
        Yaml::Mapping { entries, .. } => Yaml::Mapping { entries, location },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Yaml {
        match load(text) {
            Ok(Some(root)) => root,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn positions_are_one_based() {
        let Yaml::Mapping { entries, location } = root("a: 1\nbb:\n  - x\n") else {
            panic!("not a map")
        };
        assert_eq!(location, Location { line: 1, column: 1 });
        assert_eq!(entries[1].0.location, Location { line: 2, column: 1 });
        let Yaml::Sequence { items, .. } = &entries[1].1 else {
            panic!("not a list")
        };
        assert_eq!(items[0].location(), Location { line: 3, column: 5 });
    }

    #[test]
    fn aliases_copy_the_anchored_value() {
        let Yaml::Mapping { entries, .. } = root("a: &x [1, 2]\nb: *x\n") else {
            panic!("not a map")
        };
        assert!(matches!(&entries[1].1, Yaml::Sequence { items, .. } if items.len() == 2));
    }

    #[test]
    fn refuses_deep_nesting_and_several_documents() {
        let deep = "[".repeat(200);
        assert!(load(&deep).is_err());
        let deep_block: String = (0..500)
            .map(|i| format!("{}- \n", " ".repeat(i * 2)))
            .collect();
        assert!(load(&deep_block).is_err());
        assert!(load("a: 1\n---\nb: 2\n").is_err());
    }

    #[test]
    fn scalar_types() {
        let s = |v: &str, plain| Scalar {
            value: v.into(),
            plain,
            location: Location::default(),
        };
        assert_eq!(s("0x10", true).as_i64(), Some(16));
        assert_eq!(s("-5", true).as_i64(), Some(-5));
        assert_eq!(s("5", false).as_i64(), None);
        assert_eq!(s("1.5e3", true).as_f64(), Some(1500.0));
        assert_eq!(s("inf", true).as_f64(), None);
        assert!(s("~", true).is_null());
        assert!(!s("~", false).is_null());
    }
}
