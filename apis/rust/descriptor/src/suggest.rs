//! "Did you mean …?" suggestions for misspelled keys, node ids and output ids.

/// The candidate closest to `word`, when it is close enough to be a plausible typo: at most
/// one edit per three characters (and at least one), counting a swap of two neighbours as
/// one edit.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(distance, c)| {
            *distance <= (word.chars().count().max(c.chars().count()) / 3).max(1)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// ` (did you mean `x`?)`, or nothing.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    closest(word, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// Most items [`list`] names before it only counts the rest.
const LIST_MAX: usize = 20;

/// `` `a`, `b`, `c` `` (or `none` for an empty list); after [`LIST_MAX`] items, only how many
/// more there are.
pub(crate) fn list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.into_iter().collect();
    if items.is_empty() {
        return "none".to_owned();
    }
    let mut text: Vec<String> = items
        .iter()
        .take(LIST_MAX)
        .map(|i| format!("`{i}`"))
        .collect();
    if items.len() > LIST_MAX {
        text.push(format!("and {} more", items.len() - LIST_MAX));
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
}
