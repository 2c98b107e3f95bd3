"""Read checkov's JSON reports: list the skipped checks with their reasons, and fail on any
failed check or on a skip that gives no reason.

Usage: python infra/check/checkov_summary.py REPORT_JSON...
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def _reports(text: str) -> list[dict]:
    """checkov writes one JSON document per scan, each a report or a list of reports."""
    decoder, reports, position = json.JSONDecoder(), [], 0
    text = text.strip()
    while position < len(text):
        document, position = decoder.raw_decode(text, position)
        reports += document if isinstance(document, list) else [document]
        while position < len(text) and text[position].isspace():
            position += 1
    return reports


def main(paths: list[str]) -> int:
    status = 0
    for path in paths:
        for report in _reports(open(path).read()):
            results, summary = report["results"], report["summary"]
            print(f"    {report['check_type']}: {summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped")
            skipped: dict[tuple[str, str], list[str]] = defaultdict(list)
            for check in results.get("skipped_checks", []):
                reason = (check.get("check_result") or {}).get("suppress_comment", "").strip()
                skipped[(check["check_id"], reason)].append(check["resource"])
            for (check_id, reason), resources in sorted(skipped.items()):
                print(f"      skip {check_id} x{len(resources)}: {reason or 'NO REASON GIVEN'}")
                if not reason:
                    status = 1
            for check in results.get("failed_checks", []):
                print(f"      FAILED {check['check_id']} {check['check_name']}")
                print(f"        {check['resource']} ({check['file_path']}:{check['file_line_range'][0]})")
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
