//! Expansion of `$VAR` and `${VAR}` in environment values.
//!
//! Rules: `${NAME}` and `$NAME` (NAME = a letter or `_`, then letters, digits or `_`) are
//! replaced by the variable's value; `$$` is a literal `$`; a `$` followed by anything else is
//! kept as is. An unset variable, or an unterminated `${`, is an error.

/// Expands `text` with `lookup`; the error says which variable is missing.
pub(crate) fn expand(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            let Some(end) = braced.find('}') else {
                return Err(format!("unterminated `${{` in `{text}`: write `${{NAME}}`"));
            };
            let name = &braced[..end];
            if !is_name(name) {
                return Err(format!(
                    "`${{{name}}}` is not a variable name: use letters, digits and `_`"
                ));
            }
            (name, end + 2)
        } else if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
            continue;
        } else {
            let len = name_len(after);
            if len == 0 {
                out.push('$');
                rest = after;
                continue;
            }
            (&after[..len], len)
        };
        match lookup(name) {
            Some(value) => out.push_str(&value),
            None => return Err(format!("environment variable `{name}` is not set")),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

fn name_len(s: &str) -> usize {
    let mut len = 0;
    for (i, c) in s.char_indices() {
        let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
        if !ok {
            break;
        }
        len = i + c.len_utf8();
    }
    len
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && name_len(s) == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/me".into()),
            "N" => Some("3".into()),
            _ => None,
        }
    }

    #[test]
    fn expands() {
        assert_eq!(expand("$HOME/x", &env).as_deref(), Ok("/home/me/x"));
        assert_eq!(expand("${N}0", &env).as_deref(), Ok("30"));
        assert_eq!(expand("a$$b $ 5$", &env).as_deref(), Ok("a$b $ 5$"));
        assert_eq!(expand("é$N", &env).as_deref(), Ok("é3"));
    }

    #[test]
    fn errors_name_the_variable() {
        assert_eq!(
            expand("$MISSING", &env),
            Err("environment variable `MISSING` is not set".into())
        );
        assert!(expand("${N", &env).is_err());
        assert!(expand("${1x}", &env).is_err());
    }
}
