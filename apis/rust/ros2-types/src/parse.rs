//! Parser of `.msg` and `.srv` files (the ROS 2 subset of the interface definition format).
//!
//! Rules, line by line:
//! - `#` starts a comment unless it is inside a quoted string; blank lines are ignored.
//! - A field is `TYPE name` or `TYPE name DEFAULT`; a constant is `TYPE NAME=VALUE` (spaces
//!   around `=` allowed). Constants are primitives or strings, never arrays.
//! - `TYPE` is a primitive (`bool byte char float32 float64 int8 uint8 int16 uint16 int32
//!   uint32 int64 uint64`), `string`, `wstring`, `string<=N`, `wstring<=N`, or a message:
//!   `pkg/Type`, `pkg/msg/Type`, `Type` (same package) or `Header` (always `std_msgs/Header`).
//!   A suffix `[]`, `[N]` or `[<=N]` makes it a sequence, a fixed-size array or a bounded
//!   sequence.
//! - Defaults: integers (decimal, or `0x`/`0o`/`0b` prefixed), floats (`nan`, `inf` allowed),
//!   `true`/`false`/`1`/`0` for bool, strings quoted with `"` or `'` (backslash escapes) or
//!   unquoted, arrays as `[a, b, c]`. Values are range-checked against the type, array defaults
//!   against the array size or bound, string defaults against the string bound.
//! - A string constant's value is the rest of the line (quotes removed when they enclose it).
//! - A `.srv` file is a request and a response separated by a line `---`; they become the
//!   messages `pkg/srv/Name_Request` and `pkg/srv/Name_Response`.
//!
//! Every error names the file, the 1-based line and the problem.

use std::path::Path;

use crate::{
    error::ParseError,
    types::{
        is_package_name, is_type_name, Cardinality, Constant, ElementType, Field, FieldType,
        MessageDefinition, Primitive, ServiceDefinition, TypeName, Value,
    },
};

/// Parses the text of a `.msg` file defining `name`.
pub fn parse_message(
    text: &str,
    name: TypeName,
    source: &Path,
) -> Result<MessageDefinition, ParseError> {
    parse_lines(
        text.lines().enumerate().map(|(i, l)| (i + 1, l)),
        name,
        source,
    )
}

/// Parses the text of a `.srv` file defining `name` (namespace `srv`).
pub fn parse_service(
    text: &str,
    name: TypeName,
    source: &Path,
) -> Result<ServiceDefinition, ParseError> {
    let lines: Vec<(usize, &str)> = text.lines().enumerate().map(|(i, l)| (i + 1, l)).collect();
    let separators: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, (_, l))| strip_comment(l).trim() == "---")
        .map(|(i, _)| i)
        .collect();
    let split = match separators.as_slice() {
        [one] => *one,
        [] => {
            return Err(ParseError {
                file: source.to_owned(),
                line: lines.len().max(1),
                message: "a service needs a line `---` between request and response".into(),
            })
        }
        [_, second, ..] => {
            return Err(ParseError {
                file: source.to_owned(),
                line: lines[*second].0,
                message: "a service has exactly one `---` line".into(),
            })
        }
    };
    let part = |suffix: &str| TypeName::new(&name.package, "srv", format!("{}{suffix}", name.name));
    let request = parse_lines(lines[..split].iter().copied(), part("_Request"), source)?;
    let response = parse_lines(
        lines[split + 1..].iter().copied(),
        part("_Response"),
        source,
    )?;
    Ok(ServiceDefinition {
        name,
        request,
        response,
    })
}

fn parse_lines<'a>(
    lines: impl Iterator<Item = (usize, &'a str)>,
    name: TypeName,
    source: &Path,
) -> Result<MessageDefinition, ParseError> {
    let mut def = MessageDefinition {
        name,
        fields: Vec::new(),
        constants: Vec::new(),
        source: source.to_owned(),
    };
    for (line_no, raw) in lines {
        let err = |message: String| ParseError {
            file: source.to_owned(),
            line: line_no,
            message,
        };
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let (type_text, rest) = split_word(line);
        let rest = rest.trim_start();
        if rest.is_empty() {
            return Err(err(format!("`{type_text}` needs a field name after it")));
        }
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (item_name, after) = rest.split_at(name_len);
        let after = after.trim_start();
        if item_name.is_empty() {
            return Err(err(format!(
                "expected a field or constant name, found `{rest}`"
            )));
        }
        let ty = parse_field_type(type_text, &def.name.package).map_err(err)?;
        if let Some(value_text) = after.strip_prefix('=') {
            let constant =
                parse_constant(item_name, ty, value_text, &def.constants).map_err(err)?;
            def.constants.push(constant);
        } else {
            let field = parse_field(item_name, ty, after, &def.fields).map_err(err)?;
            def.fields.push(field);
        }
    }
    Ok(def)
}

/// A constant line `TYPE NAME=value`, given the constants before it.
fn parse_constant(
    item_name: &str,
    ty: FieldType<TypeName>,
    value_text: &str,
    constants: &[Constant],
) -> Result<Constant, String> {
    if !is_constant_name(item_name) {
        return Err(format!(
            "constant name `{item_name}` must be upper case letters, digits and `_`"
        ));
    }
    if ty.cardinality != Cardinality::Single {
        return Err(format!("constant `{item_name}` cannot be an array"));
    }
    if matches!(ty.element, ElementType::Message(_)) {
        return Err(format!(
            "constant `{item_name}` must be a primitive or a string"
        ));
    }
    // A string constant takes the whole rest of the line (comments were cut above).
    let value = parse_scalar(&ty.element, value_text.trim(), true)
        .map_err(|m| format!("constant `{item_name}`: {m}"))?;
    if constants.iter().any(|c| c.name == item_name) {
        return Err(format!("constant `{item_name}` is defined twice"));
    }
    Ok(Constant {
        name: item_name.to_owned(),
        ty: ty.element,
        value,
    })
}

/// A field line `TYPE name [default]` (`default_text` is what follows the name), given the
/// fields before it.
fn parse_field(
    item_name: &str,
    ty: FieldType<TypeName>,
    default_text: &str,
    fields: &[Field<TypeName>],
) -> Result<Field<TypeName>, String> {
    if !is_field_name(item_name) {
        return Err(format!(
            "field name `{item_name}` must start with a letter and hold letters, digits and `_`"
        ));
    }
    if fields.iter().any(|f| f.name == item_name) {
        return Err(format!("field `{item_name}` is defined twice"));
    }
    let default = if default_text.is_empty() {
        None
    } else {
        if matches!(ty.element, ElementType::Message(_)) {
            return Err(format!(
                "field `{item_name}`: a nested message cannot have a default"
            ));
        }
        Some(
            parse_default(&ty, default_text)
                .map_err(|m| format!("default of `{item_name}`: {m}"))?,
        )
    };
    Ok(Field {
        name: item_name.to_owned(),
        ty,
        default,
    })
}

/// Cuts a `#` comment that is not inside a quoted string.
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '#' => return &line[..i],
                _ => {}
            },
        }
    }
    line
}

fn split_word(s: &str) -> (&str, &str) {
    match s.find(char::is_whitespace) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    }
}

fn is_constant_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn is_field_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_size(text: &str, what: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{what} `{text}` must be a positive integer")),
    }
}

/// Parses `TYPE` with its optional array suffix.
fn parse_field_type(text: &str, own_package: &str) -> Result<FieldType<TypeName>, String> {
    let (base, cardinality) = match text.find('[') {
        Some(open) => {
            let suffix = &text[open..];
            let inner = suffix
                .strip_prefix('[')
                .and_then(|s| s.strip_suffix(']'))
                .ok_or_else(|| format!("malformed array suffix in `{text}`"))?;
            let cardinality = if inner.is_empty() {
                Cardinality::Sequence { bound: None }
            } else if let Some(bound) = inner.strip_prefix("<=") {
                Cardinality::Sequence {
                    bound: Some(parse_size(bound, "sequence bound")?),
                }
            } else {
                Cardinality::Array(parse_size(inner, "array size")?)
            };
            (&text[..open], cardinality)
        }
        None => (text, Cardinality::Single),
    };
    Ok(FieldType {
        element: parse_element_type(base, own_package)?,
        cardinality,
    })
}

fn parse_element_type(text: &str, own_package: &str) -> Result<ElementType<TypeName>, String> {
    if let Some(p) = Primitive::from_msg_name(text) {
        return Ok(ElementType::Primitive(p));
    }
    for (keyword, wide) in [("string", false), ("wstring", true)] {
        if let Some(rest) = text.strip_prefix(keyword) {
            let bound = if rest.is_empty() {
                None
            } else if let Some(b) = rest.strip_prefix("<=") {
                Some(parse_size(b, "string bound")?)
            } else {
                continue;
            };
            return Ok(if wide {
                ElementType::WString { bound }
            } else {
                ElementType::String { bound }
            });
        }
    }
    if text == "Header" {
        return Ok(ElementType::Message(TypeName::new(
            "std_msgs", "msg", "Header",
        )));
    }
    if !text.contains('/') {
        if !is_type_name(text) {
            return Err(format!("unknown type `{text}`"));
        }
        return Ok(ElementType::Message(TypeName::new(
            own_package,
            "msg",
            text,
        )));
    }
    let name = TypeName::parse_with_namespace(text, "msg").map_err(|e| e.to_string())?;
    if !is_package_name(&name.package) || name.namespace != "msg" {
        return Err(format!("a nested type must be a message, found `{text}`"));
    }
    Ok(ElementType::Message(name))
}

fn parse_default(ty: &FieldType<TypeName>, text: &str) -> Result<Value, String> {
    match ty.cardinality {
        Cardinality::Single => parse_scalar(&ty.element, text, false),
        Cardinality::Array(n) | Cardinality::Sequence { bound: Some(n) } => {
            let items = parse_list(&ty.element, text)?;
            match ty.cardinality {
                Cardinality::Array(_) if items.len() != n => {
                    return Err(format!("{} values for an array of {n}", items.len()))
                }
                _ if items.len() > n => {
                    return Err(format!("{} values exceed the bound of {n}", items.len()))
                }
                _ => {}
            }
            Ok(Value::Sequence(items))
        }
        Cardinality::Sequence { bound: None } => {
            Ok(Value::Sequence(parse_list(&ty.element, text)?))
        }
    }
}

fn parse_list(element: &ElementType<TypeName>, text: &str) -> Result<Vec<Value>, String> {
    let inner = text
        .trim()
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(|| format!("an array default is written `[a, b, …]`, found `{text}`"))?;
    if inner.trim().is_empty() {
        return Ok(Vec::new());
    }
    split_items(inner)
        .into_iter()
        .map(|item| parse_scalar(element, item.trim(), false))
        .collect()
}

/// Splits at commas outside quotes.
fn split_items(s: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                ',' => {
                    items.push(&s[start..i]);
                    start = i + 1;
                }
                _ => {}
            },
        }
    }
    items.push(&s[start..]);
    items
}

fn parse_scalar(
    element: &ElementType<TypeName>,
    text: &str,
    is_constant: bool,
) -> Result<Value, String> {
    if text.is_empty() {
        return Err("missing value".into());
    }
    match element {
        ElementType::Primitive(p) => parse_primitive(*p, text),
        ElementType::String { bound } | ElementType::WString { bound } => {
            let s = unquote(text, is_constant)?;
            let len = match element {
                ElementType::WString { .. } => s.encode_utf16().count(),
                _ => s.len(),
            };
            if let Some(bound) = bound {
                if len > *bound {
                    return Err(format!("string of {len} exceeds the bound of {bound}"));
                }
            }
            Ok(Value::String(s))
        }
        ElementType::Message(_) => Err("a nested message cannot have a value".into()),
    }
}

fn unquote(text: &str, keep_unbalanced: bool) -> Result<String, String> {
    let first = text.chars().next();
    let quoted = match first {
        Some(q @ ('"' | '\'')) if text.len() >= 2 && text.ends_with(q) => Some(q),
        Some('"' | '\'') if !keep_unbalanced => {
            return Err(format!("unterminated string `{text}`"));
        }
        _ => None,
    };
    let Some(q) = quoted else {
        return Ok(text.to_owned());
    };
    let inner = &text[1..text.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => return Err("string ends with a lone backslash".into()),
            }
        } else if c == q && !keep_unbalanced {
            return Err(format!("unescaped quote inside `{text}`"));
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

fn parse_int(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let lower = digits.to_ascii_lowercase();
    let magnitude = if let Some(hex) = lower.strip_prefix("0x") {
        i128::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = lower.strip_prefix("0o") {
        i128::from_str_radix(oct, 8).ok()?
    } else if let Some(bin) = lower.strip_prefix("0b") {
        i128::from_str_radix(bin, 2).ok()?
    } else {
        lower.parse::<i128>().ok()?
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn parse_primitive(p: Primitive, text: &str) -> Result<Value, String> {
    let (min, max): (i128, i128) = match p {
        Primitive::Bool => {
            return match text {
                "true" | "True" | "1" => Ok(Value::Bool(true)),
                "false" | "False" | "0" => Ok(Value::Bool(false)),
                _ => Err(format!("`{text}` is not a bool (true/false)")),
            }
        }
        Primitive::Float32 | Primitive::Float64 => {
            return text
                .parse::<f64>()
                .map(Value::Float)
                .map_err(|_| format!("`{text}` is not a {}", p.msg_name()));
        }
        Primitive::Byte | Primitive::Char | Primitive::UInt8 => (0, u8::MAX.into()),
        Primitive::Int8 => (i8::MIN.into(), i8::MAX.into()),
        Primitive::Int16 => (i16::MIN.into(), i16::MAX.into()),
        Primitive::UInt16 => (0, u16::MAX.into()),
        Primitive::Int32 => (i32::MIN.into(), i32::MAX.into()),
        Primitive::UInt32 => (0, u32::MAX.into()),
        Primitive::Int64 => (i64::MIN.into(), i64::MAX.into()),
        Primitive::UInt64 => (0, u64::MAX.into()),
    };
    let v = parse_int(text).ok_or_else(|| format!("`{text}` is not an integer"))?;
    if v < min || v > max {
        return Err(format!("{v} is out of range for {}", p.msg_name()));
    }
    Ok(match p {
        Primitive::UInt64 => Value::UInt(v as u64),
        _ => Value::Int(v as i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MessageDefinition, ParseError> {
        parse_message(text, TypeName::new("pkg", "msg", "T"), Path::new("T.msg"))
    }

    #[test]
    fn fields_constants_defaults() {
        let def = parse(
            "# c\nint32 X=-3 # c\nstring S = 'a # b'\nHeader header\nfloat64[3] g [1, 2.5, -3]\n\
             string<=4[<=2] t [\"ab\", 'c,d']\nOther o\npkg2/Y y\n",
        )
        .unwrap();
        assert_eq!(def.constants[0].value, Value::Int(-3));
        assert_eq!(def.constants[1].value, Value::String("a # b".into()));
        assert_eq!(
            def.fields[0].ty.element,
            ElementType::Message(TypeName::new("std_msgs", "msg", "Header"))
        );
        assert_eq!(def.fields[1].ty.cardinality, Cardinality::Array(3));
        assert_eq!(
            def.fields[2].default,
            Some(Value::Sequence(vec![
                Value::String("ab".into()),
                Value::String("c,d".into())
            ]))
        );
        assert_eq!(
            def.fields[3].ty.element,
            ElementType::Message(TypeName::new("pkg", "msg", "Other"))
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("int32 a\nint8 b 300\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("out of range"), "{e}");
        let e = parse("\n\nfloat64[0] a\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse("int32 a\nint32 a\n").unwrap_err();
        assert!(e
            .to_string()
            .starts_with("T.msg:2: field `a` is defined twice"));
    }
}
