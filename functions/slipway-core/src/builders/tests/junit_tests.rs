use crate::builders::junit::*;

const REFERENCE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="all" tests="3" failures="1" errors="0" skipped="1" time="1.23" timestamp="2026-01-01T00:00:00">
  <testsuite name="pkg.Suite" tests="3" failures="1" errors="0" skipped="1" time="1.23" timestamp="2026-01-01T00:00:00" hostname="h" id="0" package="pkg">
    <properties><property name="k" value="v"/></properties>
    <testcase classname="pkg.Suite" name="ok" time="0.01"/>
    <testcase classname="pkg.Suite" name="bad" time="0.20"><failure message="expected 1" type="AssertionError">stack…</failure></testcase>
    <testcase classname="pkg.Suite" name="later" time="0"><skipped message="not ready"/></testcase>
    <system-out>out</system-out><system-err>err</system-err>
  </testsuite>
</testsuites>"#;

#[test]
fn reference_sample() {
    let summary = parse_junit(REFERENCE.as_bytes()).unwrap();
    assert_eq!(
        summary,
        TestSummary {
            passed: 1,
            failed: 1,
            errored: 0,
            skipped: 1,
            duration_ms: 1_230,
            failures: vec![TestFailure {
                name: "pkg.Suite.bad".into(),
                message: "expected 1".into(),
                kind: FailureKind::Failure,
            }],
        }
    );
    assert_eq!(summary.total(), 3);
    assert!(!summary.is_success());
}

#[test]
fn single_testsuite_root_with_errors_and_wrong_counts() {
    // The advisory counts say 10 tests, 0 failures: they are ignored.
    let xml = r#"<testsuite name="t" tests="10" failures="0" errors="0">
        <testcase classname="a.B" name="one" time="1.5"/>
        <testcase classname="a.B" name="two" time="0.25">
          <error type="java.lang.NullPointerException">
            java.lang.NullPointerException
              at a.B.two(B.java:10)
          </error>
        </testcase>
        <testcase name="three"><error>

            first line of the trace
            second line
        </error></testcase>
    </testsuite>"#;
    let summary = parse_junit(xml.as_bytes()).unwrap();
    assert_eq!(
        (
            summary.passed,
            summary.failed,
            summary.errored,
            summary.skipped
        ),
        (1, 0, 2, 0)
    );
    // No time on the suite: the cases' times are summed.
    assert_eq!(summary.duration_ms, 1_750);
    assert_eq!(summary.failures[0].name, "a.B.two");
    assert_eq!(
        summary.failures[0].message,
        "java.lang.NullPointerException"
    );
    assert_eq!(summary.failures[0].kind, FailureKind::Error);
    assert_eq!(summary.failures[1].name, "three");
    assert_eq!(summary.failures[1].message, "first line of the trace");
}

#[test]
fn messages_are_unescaped_and_cdata_is_read() {
    let xml = r#"<?xml version="1.0"?>
    <testsuites>
      <testsuite name="s" time="0.5">
        <testcase classname="c" name="cmp"><failure message="expected &lt;1&gt; but was &quot;2&quot;"/></testcase>
        <testcase classname="c" name="cdata"><failure><![CDATA[assert a < b]]></failure></testcase>
        <testcase classname="c" name="refs"><failure>x &amp; y &#65;</failure></testcase>
      </testsuite>
    </testsuites>"#;
    let summary = parse_junit(xml.as_bytes()).unwrap();
    let messages: Vec<&str> = summary
        .failures
        .iter()
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(
        messages,
        vec![r#"expected <1> but was "2""#, "assert a < b", "x & y A"]
    );
    assert_eq!(summary.duration_ms, 500);
}

#[test]
fn several_suites_and_nested_suites() {
    let xml = r#"<testsuites time="99">
      <testsuite name="outer" time="2.0">
        <testsuite name="inner" time="1.0">
          <testcase name="a" time="0.5"/>
        </testsuite>
        <testcase name="b" time="0.5"><skipped/></testcase>
      </testsuite>
      <testsuite name="second" time="1,5">
        <testcase name="c"/>
      </testsuite>
    </testsuites>"#;
    let summary = parse_junit(xml.as_bytes()).unwrap();
    assert_eq!((summary.passed, summary.skipped), (2, 1));
    // Outermost suites only: 2.0 + 1.5 seconds.
    assert_eq!(summary.duration_ms, 3_500);
}

#[test]
fn failure_outranks_skipped() {
    let xml = r#"<testsuite><testcase name="x"><skipped/><failure message="boom"/></testcase></testsuite>"#;
    let summary = parse_junit(xml.as_bytes()).unwrap();
    assert_eq!((summary.failed, summary.skipped), (1, 0));
    assert_eq!(summary.failures[0].message, "boom");
}

#[test]
fn empty_reports_and_bom() {
    assert_eq!(
        parse_junit(b"<testsuites/>").unwrap(),
        TestSummary::default()
    );
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), REFERENCE.as_bytes()].concat();
    assert_eq!(parse_junit(&with_bom).unwrap().total(), 3);
    let namespaced = r#"<j:testsuite xmlns:j="urn:x"><j:testcase name="a"/></j:testsuite>"#;
    assert_eq!(parse_junit(namespaced.as_bytes()).unwrap().passed, 1);
}

#[test]
fn malformed_documents_are_errors() {
    let mismatched = b"<testsuite><testcase name=\"a\"></testsuite>";
    assert!(matches!(
        parse_junit(mismatched),
        Err(JunitError::Malformed { .. })
    ));
    let truncated = b"<testsuites><testsuite name=\"s\"><testcase name=\"a\"/>";
    let err = parse_junit(truncated).unwrap_err();
    assert!(matches!(err, JunitError::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("malformed JUnit XML"), "{err}");
    let broken_tag = b"<testsuite><testcase name=\"a\"";
    assert!(parse_junit(broken_tag).is_err());
    assert!(matches!(parse_junit(b""), Err(JunitError::NotJunit(_))));
    assert!(matches!(
        parse_junit(b"not xml at all"),
        Err(JunitError::NotJunit(_))
    ));
    let html = b"<html><body>404</body></html>";
    let err = parse_junit(html).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a JUnit report: the root element is <html>, not <testsuites> or <testsuite>"
    );
}

#[test]
fn failures_are_capped_and_merge_keeps_the_cap() {
    let cases: String = (0..30)
        .map(|i| format!(r#"<testcase name="t{i}"><failure message="m{i}"/></testcase>"#))
        .collect();
    let xml = format!("<testsuite>{cases}</testsuite>");
    let summary = parse_junit(xml.as_bytes()).unwrap();
    assert_eq!(summary.failed, 30);
    assert_eq!(summary.failures.len(), MAX_LISTED_FAILURES);
    assert_eq!(summary.failures[19].name, "t19");

    let mut total = parse_junit(REFERENCE.as_bytes()).unwrap();
    total.merge(&summary);
    assert_eq!(total.failed, 31);
    assert_eq!(total.passed, 1);
    assert_eq!(total.duration_ms, 1_230);
    assert_eq!(total.failures.len(), MAX_LISTED_FAILURES);
    assert_eq!(total.failures[0].name, "pkg.Suite.bad");
    assert_eq!(total.failures[1].name, "t0");

    let both = parse_junit_reports([REFERENCE.as_bytes(), REFERENCE.as_bytes()]).unwrap();
    assert_eq!((both.passed, both.failed, both.skipped), (2, 2, 2));
    assert_eq!(both.duration_ms, 2_460);
    assert!(parse_junit_reports([REFERENCE.as_bytes(), b"<x/>".as_slice()]).is_err());
}

#[test]
fn odd_times_are_tolerated() {
    let xml = r#"<testsuite><testcase name="a" time="abc"/><testcase name="b" time="-1"/>
                 <testcase name="c" time=" 0.0015 "/></testsuite>"#;
    let summary = parse_junit(xml.as_bytes()).unwrap();
    assert_eq!(summary.passed, 3);
    assert_eq!(summary.duration_ms, 2);
}

#[test]
fn summary_serializes() {
    let summary = parse_junit(REFERENCE.as_bytes()).unwrap();
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["failures"][0]["kind"], "failure");
    assert_eq!(json["duration_ms"], 1230);
    let back: TestSummary = serde_json::from_value(json).unwrap();
    assert_eq!(back, summary);
}
