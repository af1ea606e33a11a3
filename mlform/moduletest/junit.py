"""JUnit XML for CI systems: one testsuite per test file, one testcase per run.

The shape is the one CI systems (GitHub, GitLab, Jenkins) read and Terraform's `-junit-xml`
writes: a failed assertion is a `<failure>`, an error (a broken reference, a provider that
failed) an `<error>`, a run not reached a `<skipped>`; the diagnostics, rendered as the
terminal shows them, are the element's text. A failed clean-up is the suite's `<system-err>`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from mlform.diagnostics import render_all
from mlform.moduletest.runner import ERROR, FAIL, SKIP, SuiteResult


def junit_xml(suite: SuiteResult) -> str:
    root = ET.Element("testsuites")
    root.set("tests", str(sum(len(f.runs) for f in suite.files)))
    root.set("failures", str(suite.count(FAIL)))
    root.set("errors", str(suite.count(ERROR)))
    root.set("skipped", str(suite.skipped))
    for f in suite.files:
        ts = ET.SubElement(root, "testsuite")
        ts.set("name", f.display)
        ts.set("tests", str(len(f.runs)))
        ts.set("failures", str(sum(1 for r in f.runs if r.status == FAIL)))
        ts.set("errors", str(sum(1 for r in f.runs if r.status == ERROR)))
        ts.set("skipped", str(sum(1 for r in f.runs if r.status == SKIP)))
        ts.set("time", f"{f.seconds:.3f}")
        for r in f.runs:
            tc = ET.SubElement(ts, "testcase")
            tc.set("name", r.name)
            tc.set("classname", f.display)
            tc.set("time", f"{r.seconds:.3f}")
            if r.status in (FAIL, ERROR):
                el = ET.SubElement(tc, "failure" if r.status == FAIL else "error")
                el.set("message", r.failure_message or f'run "{r.name}" failed')
                el.text = render_all([d for d in r.diags if d.is_error])
            elif r.status == SKIP:
                ET.SubElement(tc, "skipped").set("message", "Skipped: an earlier run failed")
        if f.diags:
            ET.SubElement(ts, "system-err").text = render_all(f.diags)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: str | Path, suite: SuiteResult) -> None:
    Path(path).write_text(junit_xml(suite), encoding="utf-8")
