//! A search query as words, and the snippet of a found text with its matches marked: the same
//! on both backends (the databases find and rank; the words and snippets are made here).

use unicode_normalization::UnicodeNormalization;

use crate::error::AppError;

/// Words one query may hold.
pub const MAX_WORDS: usize = 8;
/// Characters one query may hold.
pub const MAX_QUERY: usize = 200;
/// Words around the first match in a snippet.
const SNIPPET_WORDS: usize = 12;

/// The words of a query, folded (lower case, no accents), each searched as a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms(Vec<String>);

/// `text` in lower case without accents: how words are compared.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

impl Terms {
    /// The words of `query` (cut at every character that is not a letter or a digit, as the
    /// index cuts texts); `BAD_USER_INPUT` on `query` when there is none or too many.
    pub fn parse(query: &str) -> Result<Terms, AppError> {
        if query.chars().count() > MAX_QUERY {
            return Err(AppError::bad_input(
                "query",
                format!("a search holds at most {MAX_QUERY} characters"),
            ));
        }
        let words: Vec<String> = query
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(fold)
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() {
            return Err(AppError::bad_input(
                "query",
                "search for at least one word (letters or digits)",
            ));
        }
        if words.len() > MAX_WORDS {
            return Err(AppError::bad_input(
                "query",
                format!("a search holds at most {MAX_WORDS} words"),
            ));
        }
        Ok(Terms(words))
    }

    /// PostgreSQL's `to_tsquery` text: `acm:* & dup:*` (words are letters and digits only).
    pub fn tsquery(&self) -> String {
        self.0
            .iter()
            .map(|w| format!("{w}:*"))
            .collect::<Vec<_>>()
            .join(" & ")
    }

    /// SQLite FTS5's `MATCH` text: `"acm"* AND "dup"*`.
    pub fn fts5(&self) -> String {
        self.0
            .iter()
            .map(|w| format!("\"{w}\"*"))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// Whether the word `word` of a text matches one of the query's words.
    fn matches(&self, word: &str) -> bool {
        let folded = fold(word);
        self.0.iter().any(|t| folded.starts_with(t.as_str()))
    }
}

/// A piece of a snippet: text, and whether it is a match.
#[derive(Debug, Clone, PartialEq, Eq, async_graphql::SimpleObject)]
pub struct SnippetPart {
    /// The text, as stored.
    pub text: String,
    /// Whether it is a word the query matched (to highlight).
    pub matched: bool,
}

/// About [`SNIPPET_WORDS`] words of `text` around its first match, as parts (matched words
/// apart), with `…` where text was left out.
pub fn snippet(text: &str, terms: &Terms) -> Vec<SnippetPart> {
    // Words and the separators between them, in order.
    let mut pieces: Vec<(&str, bool)> = Vec::new();
    let mut start = 0;
    let mut in_word = None;
    for (i, c) in text.char_indices() {
        let word = c.is_alphanumeric();
        if in_word != Some(word) {
            if i > start {
                pieces.push((&text[start..i], in_word == Some(true)));
            }
            start = i;
            in_word = Some(word);
        }
    }
    if start < text.len() {
        pieces.push((&text[start..], in_word == Some(true)));
    }
    let words: Vec<usize> = (0..pieces.len()).filter(|&i| pieces[i].1).collect();
    let first = words
        .iter()
        .position(|&i| terms.matches(pieces[i].0))
        .unwrap_or(0);
    let from_word = first.saturating_sub(SNIPPET_WORDS / 3);
    let to_word = (from_word + SNIPPET_WORDS).min(words.len());
    let (from, to) = match (
        words.get(from_word),
        to_word.checked_sub(1).and_then(|i| words.get(i)),
    ) {
        (Some(&from), Some(&to)) => (from, to + 1),
        _ => (0, pieces.len()),
    };
    let mut parts: Vec<SnippetPart> = Vec::new();
    let mut push = |text: &str, matched: bool| match parts.last_mut() {
        Some(last) if !last.matched && !matched => last.text.push_str(text),
        _ => parts.push(SnippetPart {
            text: text.to_owned(),
            matched,
        }),
    };
    if from > 0 {
        push("…", false);
    }
    for (piece, is_word) in &pieces[from..to] {
        let piece = piece.replace(['\n', '\r', '\t'], " ");
        push(&piece, *is_word && terms.matches(&piece));
    }
    if to < pieces.len() {
        push("…", false);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_prefixes_of_folded_words() {
        let Ok(terms) = Terms::parse("  Société  gén-") else {
            unreachable!()
        };
        assert_eq!(terms.tsquery(), "societe:* & gen:*");
        assert_eq!(terms.fts5(), "\"societe\"* AND \"gen\"*");
        assert!(Terms::parse(" -- !! ").is_err());
        assert!(Terms::parse(&"a ".repeat(9)).is_err());
        assert!(Terms::parse(&"a".repeat(201)).is_err());
        // Nothing of the query's syntax passes: quotes, operators and stars are separators.
        let Ok(hostile) = Terms::parse("a\" OR * NEAR(b) & !c:*") else {
            unreachable!()
        };
        assert_eq!(
            hostile.fts5(),
            "\"a\"* AND \"or\"* AND \"near\"* AND \"b\"* AND \"c\"*"
        );
    }

    #[test]
    fn snippets_mark_the_matched_words_as_written() {
        let Ok(terms) = Terms::parse("societe") else {
            unreachable!()
        };
        let parts = snippet("Contrat signé avec la Société Générale, Paris", &terms);
        let matched: Vec<&str> = parts
            .iter()
            .filter(|p| p.matched)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(matched, ["Société"]);
        let text: String = parts.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(text, "Contrat signé avec la Société Générale, Paris");
        let long = format!("{} acme {}", "word ".repeat(30), "tail ".repeat(30));
        let Ok(acme) = Terms::parse("acm") else {
            unreachable!()
        };
        let parts = snippet(&long, &acme);
        assert_eq!(parts.first().map(|p| p.text.starts_with('…')), Some(true));
        assert_eq!(parts.last().map(|p| p.text.ends_with('…')), Some(true));
        assert!(parts.iter().any(|p| p.matched && p.text == "acme"));
    }
}
