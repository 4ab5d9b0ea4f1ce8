//! Platform-neutral pieces of a chat message: the headline, footer and link
//! text of a [`Notice`], cleaning user-provided text, escaping it within a
//! size budget, and deciding whether a link is safe to show.

use url::Url;

use super::{Notice, NotifyOn};

/// Appended where text was cut.
pub(crate) const ELLIPSIS: char = '…';

/// Links longer than this are left out rather than cut (a cut URL is wrong).
pub(crate) const LINK_MAX_CHARS: usize = 2000;

/// How a platform counts the size of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Measure {
    /// Unicode scalar values (Slack).
    Chars,
    /// UTF-8 bytes (DingTalk, Feishu).
    Bytes,
}

impl Measure {
    /// The size of `text`.
    pub(crate) fn of(self, text: &str) -> usize {
        match self {
            Measure::Chars => text.chars().count(),
            Measure::Bytes => text.len(),
        }
    }

    fn of_char(self, c: char) -> usize {
        match self {
            Measure::Chars => 1,
            Measure::Bytes => c.len_utf8(),
        }
    }
}

/// The symbol shown before the title.
pub(crate) fn emoji(on: NotifyOn) -> &'static str {
    match on {
        NotifyOn::Failure => "❌",
        NotifyOn::Fixed => "✅",
        NotifyOn::Deploy => "🚀",
        NotifyOn::Approval => "⏸",
    }
}

/// `"<emoji> <title>"` on one line, not escaped.
pub(crate) fn headline(notice: &Notice) -> String {
    format!("{} {}", emoji(notice.on), one_line(&notice.title))
}

/// `"slipway · <app> · run <id>"`, not escaped. It also carries the word
/// `slipway`, which DingTalk and Feishu robots with a keyword filter can be
/// set to require.
pub(crate) fn footer(notice: &Notice) -> String {
    format!(
        "slipway · {} · run {}",
        one_line(&notice.app),
        one_line(&notice.run_id)
    )
}

/// The text of the link to the run, not escaped.
pub(crate) fn link_text(notice: &Notice) -> String {
    format!("View run #{}", notice.run_number)
}

/// The note that replaces the detail lines that did not fit.
pub(crate) fn more_lines(count: usize) -> String {
    let s = if count == 1 { "" } else { "s" };
    format!("{ELLIPSIS} and {count} more line{s} not shown")
}

/// `text` with `\r\n` and `\r` turned into `\n`, control characters other
/// than newline and tab dropped, and trailing whitespace trimmed.
pub(crate) fn clean(text: &str) -> String {
    let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
    let kept: String = normalised
        .chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .collect();
    kept.trim_end().to_owned()
}

/// [`clean`]ed `text` with every run of whitespace that contains a line
/// break or tab turned into one space and the ends trimmed, for places
/// where a line break would end a list item or a heading.
pub(crate) fn one_line(text: &str) -> String {
    clean(text)
        .split(['\n', '\t'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Escapes `text` character by character with `escape` and cuts the result
/// to at most `max` (counted by `measure`). A cut result ends with `…`, and a
/// cut never falls inside one character's escape sequence.
pub(crate) fn escape_within(
    text: &str,
    max: usize,
    measure: Measure,
    escape: impl Fn(char, &mut String),
) -> String {
    let ellipsis = measure.of_char(ELLIPSIS);
    let mut out = String::new();
    let mut piece = String::new();
    let mut used = 0usize;
    // Length of `out` at the last point where an ellipsis still fits.
    let mut keep = 0usize;
    for c in text.chars() {
        piece.clear();
        escape(c, &mut piece);
        let len = measure.of(&piece);
        if used + len > max {
            out.truncate(keep);
            if ellipsis <= max {
                out.push(ELLIPSIS);
            }
            return out;
        }
        used += len;
        out.push_str(&piece);
        if used + ellipsis <= max {
            keep = out.len();
        }
    }
    out
}

/// Cuts plain `text` to at most `max` characters, ending in `…` when cut.
pub(crate) fn cut_chars(text: &str, max: usize) -> String {
    escape_within(text, max, Measure::Chars, |c, out| out.push(c))
}

/// `link` if it is an absolute `http`/`https` URL with a host and at most
/// [`LINK_MAX_CHARS`] long; anything else (`javascript:`, relative paths,
/// garbage) is not shown.
pub(crate) fn safe_link(link: Option<&str>) -> Option<Url> {
    let url = Url::parse(link?.trim()).ok()?;
    let web = matches!(url.scheme(), "http" | "https");
    (web && url.host().is_some() && url.as_str().chars().count() <= LINK_MAX_CHARS).then_some(url)
}

/// The detail lines of `notice`, [`clean`]ed, without empty ones.
pub(crate) fn detail_lines(notice: &Notice) -> Vec<String> {
    notice
        .lines
        .iter()
        .map(|line| clean(line))
        .filter(|line| !line.trim().is_empty())
        .collect()
}
