//! ROS 2 names: topic names resolved and validated with the ROS 2 rules, and their DDS
//! spelling (`rt/…`).

use std::fmt;

/// Why a name is not a valid ROS 2 name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidName {
    /// The name as given.
    pub name: String,
    /// The rule it breaks.
    pub rule: &'static str,
}

impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a valid ROS 2 name: {}",
            self.name, self.rule
        )
    }
}

impl std::error::Error for InvalidName {}

/// Checks a namespace (`/`, `/robot`, `/a/b`).
pub fn validate_namespace(namespace: &str) -> Result<String, InvalidName> {
    let namespace = if namespace.is_empty() { "/" } else { namespace };
    let full = if namespace.starts_with('/') {
        namespace.to_owned()
    } else {
        format!("/{namespace}")
    };
    if full != "/" {
        validate_tokens(&full, &full[1..])?;
    }
    Ok(full)
}

/// Checks a node name (one token).
pub fn validate_node_name(name: &str) -> Result<(), InvalidName> {
    if name.contains('/') {
        return Err(InvalidName {
            name: name.into(),
            rule: "a node name cannot contain `/`",
        });
    }
    validate_tokens(name, name)
}

/// Resolves a topic or service name against the node's namespace and name:
/// `/abs` stays, `rel` becomes `<namespace>/rel`, `~/x` becomes `<namespace>/<node>/x`.
pub fn resolve(name: &str, namespace: &str, node: &str) -> Result<String, InvalidName> {
    let invalid = |rule| InvalidName {
        name: name.into(),
        rule,
    };
    if name.is_empty() {
        return Err(invalid("a name cannot be empty"));
    }
    let base = namespace.trim_end_matches('/');
    let full = if let Some(rest) = name.strip_prefix('~') {
        match rest {
            "" => format!("{base}/{node}"),
            _ if rest.starts_with('/') => format!("{base}/{node}{rest}"),
            _ => return Err(invalid("`~` must be followed by `/`")),
        }
    } else if name.starts_with('/') {
        name.to_owned()
    } else {
        format!("{base}/{name}")
    };
    if full.ends_with('/') {
        return Err(invalid("a name cannot end with `/`"));
    }
    validate_tokens(name, &full[1..])?;
    Ok(full)
}

fn validate_tokens(original: &str, path: &str) -> Result<(), InvalidName> {
    let invalid = |rule| InvalidName {
        name: original.into(),
        rule,
    };
    for token in path.split('/') {
        if token.is_empty() {
            return Err(invalid("a name cannot contain `//`"));
        }
        if token.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(invalid("a name token cannot start with a digit"));
        }
        if !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(invalid(
                "a name may only contain letters, digits, `_` and `/`",
            ));
        }
        if token.contains("__") {
            return Err(invalid("a name cannot contain `__`"));
        }
    }
    Ok(())
}

/// The DDS topic of a resolved ROS 2 topic (`/chatter` → `rt/chatter`).
pub fn dds_topic(resolved: &str) -> String {
    format!("rt{resolved}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_ros2() {
        assert_eq!(resolve("/chatter", "/", "n").as_deref(), Ok("/chatter"));
        assert_eq!(
            resolve("chatter", "/robot", "n").as_deref(),
            Ok("/robot/chatter")
        );
        assert_eq!(resolve("chatter", "/", "n").as_deref(), Ok("/chatter"));
        assert_eq!(
            resolve("~/out", "/robot", "cam").as_deref(),
            Ok("/robot/cam/out")
        );
        assert!(resolve("bad name", "/", "n").is_err());
        assert!(resolve("/a//b", "/", "n").is_err());
        assert!(resolve("/1abc", "/", "n").is_err());
        assert!(resolve("/a/", "/", "n").is_err());
        assert!(resolve("/a__b", "/", "n").is_err());
        assert_eq!(dds_topic("/chatter"), "rt/chatter");
    }
}
