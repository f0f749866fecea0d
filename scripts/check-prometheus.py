#!/usr/bin/env python3
"""Checks Prometheus text exposition with the reference parser (PyPI prometheus-client).

Reads the text from the file named on the command line (or stdin), parses it with
prometheus_client.parser.text_string_to_metric_families and prints one line per sample:
    <family> <type> <sample name> <labels as JSON> <value>
Exit status: 0 when it parses, 1 on a parse error, 3 when prometheus_client is not installed.
"""
import json
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("check-prometheus: the prometheus-client package is not installed (scripts/setup-validate.sh installs it in .build/validate-venv)", file=sys.stderr)
    sys.exit(3)


def main() -> int:
    text = open(sys.argv[1], encoding="utf-8").read() if len(sys.argv) > 1 else sys.stdin.read()
    try:
        # The parser is lazy: walk every family and sample so that all of the text is checked.
        lines = []
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = json.dumps(sample.labels, sort_keys=True, separators=(",", ":"))
                lines.append(f"{family.name} {family.type} {sample.name} {labels} {sample.value!r}")
    except Exception as error:  # the parser raises ValueError and others on bad text
        print(f"check-prometheus: parse error: {error}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
