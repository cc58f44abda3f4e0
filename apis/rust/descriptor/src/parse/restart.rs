//! A node's restart settings: `restart_policy`, `max_restarts`, `restart_delay`,
//! `max_restart_delay` and `restart_window` (dora-rs's keys).
//!
//! They apply to every node dora starts: a process, a ROS 2 bridge, and a node of operators,
//! whose whole `dora runtime` process restarts. A dynamic node is started by the user, so a
//! policy other than `never` on it is an error.

use std::time::Duration;

use super::{Map, Walker};
use crate::model::{NodeKind, NodeSource, Restart, RestartPolicy};
use crate::yaml::Yaml;

const DURATION_FORMS: &str = "a duration: seconds as a number (`2`, `0.5`) or a number with a \
                              unit (`500ms`, `2s`, `1.5m`, `1h`)";

impl Walker<'_> {
    /// The restart settings of a node that runs `kind`.
    pub(super) fn restart(&mut self, map: &Map<'_>, kind: &NodeKind) -> Restart {
        let mut restart = Restart::default();
        if let Some(value) = map.value("restart_policy") {
            if let Some(policy) = self.restart_policy(value, &map.field("restart_policy")) {
                restart.policy = policy;
            }
        }
        if let Some(value) = map.value("max_restarts") {
            match value.as_i64().map(u32::try_from) {
                Some(Ok(count)) => restart.max_restarts = count,
                _ => self.expected_value(
                    value,
                    &map.field("max_restarts"),
                    "a whole number of at least 0 (0 means no limit)",
                ),
            }
        }
        if let Some(delay) = self.restart_duration(map, "restart_delay", true) {
            restart.delay = delay;
        }
        restart.max_delay = self.restart_duration(map, "max_restart_delay", true);
        restart.window = self.restart_duration(map, "restart_window", false);
        if restart.policy != RestartPolicy::Never {
            if let NodeKind::Custom(custom) = kind {
                if custom.source == NodeSource::Dynamic {
                    let location = map
                        .get("restart_policy")
                        .map_or(map.location, Yaml::location);
                    self.error(
                        location,
                        &map.field("restart_policy"),
                        "a dynamic node is started by the user, not by dora, so dora cannot \
                         restart it: remove `restart_policy` or give the node a `path`",
                    );
                }
            }
        }
        restart
    }

    fn restart_policy(&mut self, yaml: &Yaml, field: &str) -> Option<RestartPolicy> {
        let scalar = self.scalar(yaml, field, "`never`, `on-failure` or `always`")?;
        match scalar.value.as_str() {
            "never" => Some(RestartPolicy::Never),
            "on-failure" | "on_failure" => Some(RestartPolicy::OnFailure),
            "always" => Some(RestartPolicy::Always),
            other => {
                self.error(
                    scalar.location,
                    field,
                    format!(
                        "unknown restart policy `{}`: expected `never`, `on-failure` or `always`",
                        excerpt(other)
                    ),
                );
                None
            }
        }
    }

    /// An optional duration key; zero is accepted when `zero_ok`.
    fn restart_duration(&mut self, map: &Map<'_>, key: &str, zero_ok: bool) -> Option<Duration> {
        let value = map.value(key)?;
        let parsed = match value {
            Yaml::Scalar(scalar) => parse_duration(&scalar.value),
            _ => None,
        };
        match parsed {
            Some(duration) if zero_ok || !duration.is_zero() => Some(duration),
            _ => {
                let expected = if zero_ok {
                    DURATION_FORMS.to_owned()
                } else {
                    format!("{DURATION_FORMS}, above zero")
                };
                self.expected_value(value, &map.field(key), &expected);
                None
            }
        }
    }

    /// "expected X, found `value`" (or the kind of a value that is not a scalar).
    fn expected_value(&mut self, found: &Yaml, field: &str, expected: &str) {
        let found_text = match found {
            Yaml::Scalar(s) if !s.is_null() => {
                format!("`{}`", excerpt(&s.value))
            }
            other => other.kind().to_owned(),
        };
        self.error(
            found.location(),
            field,
            format!("expected {expected}, found {found_text}"),
        );
    }
}

/// At most 80 characters of `text`, with `…` when it was longer: a value echoed in an error.
fn excerpt(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Parses `2`, `0.5`, `500ms`, `2s`, `1.5m`, `1h` (also `us`); `None` for anything else,
/// negative, not finite, or too large for a [`Duration`].
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() || number.starts_with('.') && number.len() == 1 {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1e3,
        "us" | "µs" => value / 1e6,
        "m" | "min" | "mins" => value * 60.0,
        "h" => value * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5m"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        for bad in ["abc", "", "-1", "1x", ".", "1e400", "s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
