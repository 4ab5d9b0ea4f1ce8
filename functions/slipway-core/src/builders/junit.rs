//! Lenient JUnit XML parsing into a test summary.
//!
//! The root may be `<testsuites>` or `<testsuite>`. Counts are recomputed
//! from the `<testcase>` elements (the advisory `tests`/`failures`/…
//! attributes are ignored): a case with `<failure>` failed, with `<error>`
//! errored, with `<skipped>` was skipped, otherwise it passed. The duration
//! is the sum of the outermost suites' `time` (seconds), or of their cases'
//! `time` when a suite has none.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use serde::{Deserialize, Serialize};

use super::util::truncate_chars;

/// Most failures listed in a [`TestSummary`].
pub const MAX_LISTED_FAILURES: usize = 20;

/// Longest failure message kept, in characters.
const MESSAGE_MAX_CHARS: usize = 500;

/// Most text collected from a failure body to find its first line.
const TEXT_CAPTURE_BYTES: usize = 4096;

/// Why a report could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JunitError {
    /// The XML is not well-formed.
    #[error("malformed JUnit XML at byte {position}: {reason}")]
    Malformed {
        /// Byte offset of the problem.
        position: u64,
        /// What is wrong.
        reason: String,
    },
    /// Well-formed, but not a JUnit report.
    #[error("not a JUnit report: {0}")]
    NotJunit(String),
}

/// Whether a listed test failed an assertion or raised an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// `<failure>`: an assertion failed.
    Failure,
    /// `<error>`: an unexpected exception.
    Error,
}

/// One failed or errored test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestFailure {
    /// `classname.name` (or `name` without a classname).
    pub name: String,
    /// The `message` attribute, else `type`, else the first line of the body.
    pub message: String,
    /// Failure or error.
    pub kind: FailureKind,
}

/// Test results of one or more reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestSummary {
    /// Cases that passed.
    pub passed: u64,
    /// Cases with a `<failure>`.
    pub failed: u64,
    /// Cases with an `<error>`.
    pub errored: u64,
    /// Cases with `<skipped>`.
    pub skipped: u64,
    /// Total duration in milliseconds.
    pub duration_ms: u64,
    /// The first [`MAX_LISTED_FAILURES`] failures and errors.
    pub failures: Vec<TestFailure>,
}

impl TestSummary {
    /// Adds `other`'s results to these (the failure list stays capped).
    pub fn merge(&mut self, other: &TestSummary) {
        self.passed = self.passed.saturating_add(other.passed);
        self.failed = self.failed.saturating_add(other.failed);
        self.errored = self.errored.saturating_add(other.errored);
        self.skipped = self.skipped.saturating_add(other.skipped);
        self.duration_ms = self.duration_ms.saturating_add(other.duration_ms);
        let room = MAX_LISTED_FAILURES.saturating_sub(self.failures.len());
        self.failures
            .extend(other.failures.iter().take(room).cloned());
    }

    /// All cases counted.
    pub fn total(&self) -> u64 {
        self.passed
            .saturating_add(self.failed)
            .saturating_add(self.errored)
            .saturating_add(self.skipped)
    }

    /// Whether no case failed or errored.
    pub fn is_success(&self) -> bool {
        self.failed == 0 && self.errored == 0
    }

    /// "142 passed, 2 failed, 1 skipped".
    pub fn line(&self) -> String {
        let mut parts = vec![format!("{} passed", self.passed)];
        let failed = self.failed + self.errored;
        if failed > 0 {
            parts.push(format!("{failed} failed"));
        }
        if self.skipped > 0 {
            parts.push(format!("{} skipped", self.skipped));
        }
        parts.join(", ")
    }
}

/// Parses one JUnit XML document.
pub fn parse_junit(xml: &[u8]) -> Result<TestSummary, JunitError> {
    let mut reader = Reader::from_reader(xml);
    let mut parser = Parser::default();
    loop {
        let event = reader.read_event().map_err(|e| JunitError::Malformed {
            position: reader.error_position(),
            reason: e.to_string(),
        })?;
        let malformed = |reason: String| JunitError::Malformed {
            position: reader.buffer_position(),
            reason,
        };
        match event {
            Event::Start(e) => parser.open(&reader, &e, false)?,
            Event::Empty(e) => parser.open(&reader, &e, true)?,
            Event::End(_) => parser.close(),
            Event::Text(t) => {
                if parser.capturing() {
                    let text = t.xml_content().map_err(|e| malformed(e.to_string()))?;
                    parser.capture(&text);
                }
            }
            Event::CData(t) => {
                if parser.capturing() {
                    let text = t.xml_content().map_err(|e| malformed(e.to_string()))?;
                    parser.capture(&text);
                }
            }
            Event::GeneralRef(r) => {
                if parser.capturing() {
                    let name = r.decode().map_err(|e| malformed(e.to_string()))?;
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => parser.capture(c.encode_utf8(&mut [0; 4])),
                        _ => match resolve_predefined_entity(&name) {
                            Some(text) => parser.capture(text),
                            None => parser.capture(&format!("&{name};")),
                        },
                    }
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    parser.finish(reader.buffer_position())
}

/// Parses several reports and merges them.
pub fn parse_junit_reports<'x>(
    reports: impl IntoIterator<Item = &'x [u8]>,
) -> Result<TestSummary, JunitError> {
    let mut total = TestSummary::default();
    for report in reports {
        total.merge(&parse_junit(report)?);
    }
    Ok(total)
}

/// The case being read.
#[derive(Default)]
struct Case {
    depth: usize,
    name: String,
    time: f64,
    outcome: Option<Outcome>,
    message: String,
    text: String,
    /// Depth of the `<failure>`/`<error>` whose text is being captured.
    capture_depth: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Failed,
    Errored,
    Skipped,
}

#[derive(Default)]
struct Parser {
    summary: TestSummary,
    depth: usize,
    root_seen: bool,
    /// Depths of open `<testsuite>` elements.
    suites: Vec<usize>,
    /// `time` of the outermost open suite, and the sum of its cases.
    outer_time: Option<f64>,
    outer_case_time: f64,
    seconds: f64,
    case: Option<Case>,
}

impl Parser {
    fn open(
        &mut self,
        reader: &Reader<&[u8]>,
        element: &BytesStart,
        empty: bool,
    ) -> Result<(), JunitError> {
        let local = element.local_name();
        let name = local.as_ref();
        if !self.root_seen {
            if name != b"testsuites" && name != b"testsuite" {
                return Err(JunitError::NotJunit(format!(
                    "the root element is <{}>, not <testsuites> or <testsuite>",
                    String::from_utf8_lossy(name)
                )));
            }
            self.root_seen = true;
        }
        self.depth += 1;
        let depth = self.depth;
        if let Some(case) = &mut self.case {
            if depth == case.depth + 1 {
                let outcome = match name {
                    b"failure" => Some(Outcome::Failed),
                    b"error" => Some(Outcome::Errored),
                    b"skipped" => Some(Outcome::Skipped),
                    _ => None,
                };
                if let Some(outcome) = outcome {
                    let replaces = match case.outcome {
                        None | Some(Outcome::Skipped) => outcome != Outcome::Skipped,
                        _ => false,
                    };
                    if case.outcome.is_none() || replaces {
                        case.outcome = Some(outcome);
                        case.message = attribute(reader, element, b"message")
                            .filter(|m| !m.trim().is_empty())
                            .or_else(|| attribute(reader, element, b"type"))
                            .unwrap_or_default();
                        case.text.clear();
                        case.capture_depth = (!empty).then_some(depth);
                    }
                }
            }
        } else if name == b"testsuite" {
            if self.suites.is_empty() {
                self.outer_time = attribute(reader, element, b"time").and_then(|t| seconds(&t));
                self.outer_case_time = 0.0;
            }
            self.suites.push(depth);
        } else if name == b"testcase" {
            let case_name = attribute(reader, element, b"name").unwrap_or_default();
            let class = attribute(reader, element, b"classname").unwrap_or_default();
            self.case = Some(Case {
                depth,
                name: match (class.is_empty(), case_name.is_empty()) {
                    (false, false) => format!("{class}.{case_name}"),
                    (false, true) => class,
                    _ => case_name,
                },
                time: attribute(reader, element, b"time")
                    .and_then(|t| seconds(&t))
                    .unwrap_or(0.0),
                ..Case::default()
            });
        }
        if empty {
            self.close();
        }
        Ok(())
    }

    fn close(&mut self) {
        let depth = self.depth;
        self.depth = depth.saturating_sub(1);
        if let Some(case) = &mut self.case {
            if case.capture_depth == Some(depth) {
                case.capture_depth = None;
            }
            if case.depth == depth {
                self.finish_case();
            }
            return;
        }
        if self.suites.last() == Some(&depth) {
            self.suites.pop();
            if self.suites.is_empty() {
                self.seconds += self.outer_time.take().unwrap_or(self.outer_case_time);
                self.outer_case_time = 0.0;
            }
        }
    }

    fn capturing(&self) -> bool {
        self.case
            .as_ref()
            .is_some_and(|c| c.capture_depth.is_some() && c.text.len() < TEXT_CAPTURE_BYTES)
    }

    fn capture(&mut self, text: &str) {
        if let Some(case) = &mut self.case {
            case.text.push_str(text);
        }
    }

    fn finish_case(&mut self) {
        let Some(case) = self.case.take() else {
            return;
        };
        if self.suites.is_empty() {
            self.seconds += case.time;
        } else {
            self.outer_case_time += case.time;
        }
        let summary = &mut self.summary;
        let kind = match case.outcome {
            None => {
                summary.passed += 1;
                return;
            }
            Some(Outcome::Skipped) => {
                summary.skipped += 1;
                return;
            }
            Some(Outcome::Failed) => {
                summary.failed += 1;
                FailureKind::Failure
            }
            Some(Outcome::Errored) => {
                summary.errored += 1;
                FailureKind::Error
            }
        };
        if summary.failures.len() < MAX_LISTED_FAILURES {
            let message = if case.message.trim().is_empty() {
                case.text
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("")
                    .to_owned()
            } else {
                case.message.trim().to_owned()
            };
            summary.failures.push(TestFailure {
                name: case.name,
                message: truncate_chars(&message, MESSAGE_MAX_CHARS),
                kind,
            });
        }
    }

    fn finish(mut self, position: u64) -> Result<TestSummary, JunitError> {
        if !self.root_seen {
            return Err(JunitError::NotJunit(
                "the document has no root element".to_owned(),
            ));
        }
        if self.depth != 0 {
            return Err(JunitError::Malformed {
                position,
                reason: format!(
                    "the document ends with {} element(s) still open",
                    self.depth
                ),
            });
        }
        let ms = (self.seconds * 1000.0).round();
        self.summary.duration_ms = if ms.is_finite() && ms > 0.0 {
            ms as u64
        } else {
            0
        };
        Ok(self.summary)
    }
}

/// The unescaped value of attribute `key` (by local name), if present.
fn attribute(reader: &Reader<&[u8]>, element: &BytesStart, key: &[u8]) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key)
        .and_then(|a| a.decode_and_unescape_value(reader.decoder()).ok())
        .map(|v| v.into_owned())
}

/// Seconds as written by various emitters (`1.5`, `1,234.5`, `0,5`).
fn seconds(raw: &str) -> Option<f64> {
    let raw = raw.trim();
    let normalized = if raw.contains('.') {
        raw.replace(',', "")
    } else {
        raw.replace(',', ".")
    };
    let value: f64 = normalized.parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some(value)
}
