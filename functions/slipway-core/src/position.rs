//! Where a byte offset is in a text, as editors and compilers say it.

/// The 1-based line and column (in characters) of byte `offset` of `text`;
/// an offset past the end or inside a character counts from the nearest
/// valid place before it.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::line_col;

    #[test]
    fn lines_and_columns_count_characters_from_one() {
        let text = "a = 1\nnäme = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // After "nä" (3 bytes), the third character.
        assert_eq!(line_col(text, 9), (2, 3));
        // Inside "ä", and past the end: no panic.
        assert_eq!(line_col(text, 8), (2, 2));
        assert_eq!(line_col(text, 999), (3, 1));
    }
}
