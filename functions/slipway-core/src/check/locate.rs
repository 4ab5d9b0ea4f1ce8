//! Where a key is in a TOML file: line and column of the key (or of the
//! deepest part of its path the file has), so a check can point at it.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A parsed TOML document, kept to locate keys in it.
pub struct Locator<'t> {
    text: &'t str,
    root: Option<Spanned<DeTable<'t>>>,
}

impl<'t> Locator<'t> {
    /// Reads `text` (a file that does not parse locates nothing).
    pub fn new(text: &'t str) -> Self {
        Locator {
            text,
            root: DeTable::parse(text).ok(),
        }
    }

    /// The 1-based line and column of the key at `path` (array elements
    /// by index), or of the deepest key on the way that exists.
    pub fn key(&self, path: &[String]) -> Option<(usize, usize)> {
        let root = self.root.as_ref()?;
        walk(root.get_ref(), path).map(|offset| self.line_col(offset))
    }

    /// The 1-based line and column (in characters) of byte `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col(self.text, offset)
    }
}

/// The byte offset of the deepest key of `path` that `table` has.
fn walk(table: &DeTable<'_>, path: &[String]) -> Option<usize> {
    let (first, rest) = path.split_first()?;
    let (key, value) = table.iter().find(|(k, _)| k.get_ref().as_ref() == first)?;
    let deeper = match value.get_ref() {
        DeValue::Table(inner) => walk(inner, rest),
        DeValue::Array(items) => rest.split_first().and_then(|(index, rest)| {
            let item = items.get(index.parse::<usize>().ok()?)?;
            match item.get_ref() {
                DeValue::Table(inner) => walk(inner, rest).or(Some(item.span().start)),
                _ => Some(item.span().start),
            }
        }),
        _ => None,
    };
    Some(deeper.unwrap_or(key.span().start))
}

pub use crate::position::line_col;

#[cfg(test)]
mod tests {
    use super::*;

    fn path(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn finds_keys_tables_and_array_elements() {
        let text = "a = 1\n[apps.shop]\nrepo = \"x\"\n\n[[apps.shop.notify]]\nkind = \"slack\"\n[[apps.shop.notify]]\nkind = \"dingtalk\"\n";
        let at = Locator::new(text);
        assert_eq!(at.key(&path(&["a"])), Some((1, 1)));
        assert_eq!(at.key(&path(&["apps", "shop", "repo"])), Some((3, 1)));
        assert_eq!(
            at.key(&path(&["apps", "shop", "notify", "1", "kind"])),
            Some((8, 1))
        );
        // A missing leaf points at the deepest key there is.
        assert_eq!(at.key(&path(&["apps", "shop", "nope"])), Some((2, 7)));
        assert_eq!(at.key(&path(&["zzz"])), None);
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_col("ä = 1\nbé = 2", 10), (2, 3));
    }
}
