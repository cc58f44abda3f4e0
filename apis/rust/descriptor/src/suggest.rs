//! "Did you mean …?" suggestions for misspelled keys, node ids and output ids, and how
//! values are quoted in errors.
//!
//! Both are bounded whatever the file holds: a suggestion compares a word of at most
//! [`MAX_SUGGESTION_WORD`] characters with at most [`MAX_SUGGESTION_CANDIDATES`] candidates,
//! and only those whose length is within the allowed distance, so one suggestion costs at most
//! about 4 million steps and usually a few hundred; a quoted value is at most
//! [`MAX_QUOTED_CHARS`] characters.

use std::borrow::Cow;

use crate::limits::{MAX_QUOTED_CHARS, MAX_SUGGESTION_CANDIDATES, MAX_SUGGESTION_WORD};

/// The candidate closest to `word`, when it is close enough to be a plausible typo: at most
/// one edit per three characters (and at least one), counting a swap of two neighbours as
/// one edit. `None` too when the word is longer than [`MAX_SUGGESTION_WORD`] characters or
/// there are more than [`MAX_SUGGESTION_CANDIDATES`] candidates.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str, IntoIter: ExactSizeIterator>,
) -> Option<&'a str> {
    let candidates = candidates.into_iter();
    let word_len = word.chars().take(MAX_SUGGESTION_WORD + 1).count();
    if word_len > MAX_SUGGESTION_WORD || candidates.len() > MAX_SUGGESTION_CANDIDATES {
        return None;
    }
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == word {
            continue;
        }
        // The distance is at least the difference of the lengths: skip those that cannot be
        // close enough before counting more than a few characters of them.
        let limit = MAX_SUGGESTION_WORD + (word_len / 3).max(1) + 1;
        let len = candidate.chars().take(limit).count();
        let allowed = (word_len.max(len) / 3).max(1);
        if len.abs_diff(word_len) > allowed {
            continue;
        }
        let distance = strsim::osa_distance(word, candidate);
        if distance <= allowed && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `` `value` ``, or for a value longer than [`MAX_QUOTED_CHARS`] characters its beginning
/// and its length: `` `abc…` (10485760 bytes) ``. Control characters are escaped.
pub(crate) fn quote(value: &str) -> String {
    let short = shortened(value);
    if value.chars().nth(MAX_QUOTED_CHARS).is_none() {
        format!("`{short}`")
    } else {
        format!("`{short}` ({} bytes)", value.len())
    }
}

/// The value itself when it is at most [`MAX_QUOTED_CHARS`] characters without control
/// characters; else its first characters, control characters escaped, and `…`.
pub(crate) fn shortened(value: &str) -> Cow<'_, str> {
    let mut chars = value.char_indices();
    let cut = chars.nth(MAX_QUOTED_CHARS).map(|(i, _)| i);
    if cut.is_none() && !value.chars().any(char::is_control) {
        return Cow::Borrowed(value);
    }
    let kept = &value[..cut.unwrap_or(value.len())];
    let mut text = String::with_capacity(kept.len() + 4);
    for c in kept.chars() {
        if c.is_control() {
            text.extend(c.escape_default());
        } else {
            text.push(c);
        }
    }
    if cut.is_some() {
        text.push('…');
    }
    Cow::Owned(text)
}

/// ` (did you mean `x`?)`, or nothing.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str, IntoIter: ExactSizeIterator>,
) -> String {
    closest(word, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// Most items [`list`] names before it only counts the rest.
const LIST_MAX: usize = 20;

/// `` `a`, `b`, `c` `` (or `none` for an empty list); after [`LIST_MAX`] items, only how many
/// more there are.
pub(crate) fn list<'a>(items: impl ExactSizeIterator<Item = &'a str>) -> String {
    let count = items.len();
    if count == 0 {
        return "none".to_owned();
    }
    let mut text: Vec<String> = items.take(LIST_MAX).map(quote).collect();
    if count > LIST_MAX {
        text.push(format!("and {} more", count - LIST_MAX));
    }
    text.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_typos_only() {
        assert_eq!(
            closest("inptus", ["id", "inputs", "outputs"]),
            Some("inputs")
        );
        assert_eq!(closest("talkr", ["talker", "listener"]), Some("talker"));
        assert_eq!(closest("xyz", ["id", "inputs"]), None);
        assert_eq!(closest("ab", ["id"]), None);
    }

    #[test]
    fn long_words_and_many_candidates_get_no_suggestion() {
        let long = "a".repeat(100_000);
        let near = format!("{long}b");
        assert_eq!(closest(&long, [near.as_str()]), None);
        let ids: Vec<String> = (0..=MAX_SUGGESTION_CANDIDATES)
            .map(|i| format!("n{i}"))
            .collect();
        assert_eq!(closest("n1x", ids.iter().map(String::as_str)), None);
        assert_eq!(
            closest("n1x", ids[..10].iter().map(String::as_str)),
            Some("n1")
        );
    }

    #[test]
    fn quotes_are_short() {
        assert_eq!(quote("talker"), "`talker`");
        let long = "x".repeat(10 * 1024 * 1024);
        let quoted = quote(&long);
        assert!(quoted.ends_with("…` (10485760 bytes)"), "{quoted}");
        assert!(quoted.chars().count() < 120, "{quoted}");
        assert_eq!(quote("a\0b"), "`a\\u{0}b`");
    }
}
