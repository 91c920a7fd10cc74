#!/usr/bin/env bash
# swift-format's rules, as .swift-format configures them, over every Swift folder: any rule
# finding fails the stage.
#
# Layout findings (the pretty-printer's own: Indentation, AddLines, RemoveLine, Spacing,
# TrailingWhitespace, TrailingComma, LineLength) are counted, not failed: swift-format offers no
# way to turn them off (swiftlang/swift-format issues 764 and 964), and the code's hand layout
# (conditions aligned under `guard let`, nested calls hugged, trailing comments aligned in
# tables) differs from the pretty-printer's in a few hundred places. After a one-time
# `swift format format --in-place --recursive ...`, run with FORMAT_LINT_LAYOUT=strict to fail
# on those too.
set -euo pipefail
cd "$(dirname "$0")/.."

folders=()
for folder in Sources Tests Examples Benchmarks Fuzz Package.swift; do
    [ -e "$folder" ] && folders+=("$folder")
done

status=0
output="$(swift format lint --strict --recursive --parallel "${folders[@]}" 2>&1)" || status=$?
if [ "${FORMAT_LINT_LAYOUT:-counted}" = strict ]; then
    printf '%s\n' "$output"
    exit "$status"
fi

layout='\[(Indentation|AddLines|RemoveLine|Spacing|TrailingWhitespace|TrailingComma|LineLength)\]'
findings="$(printf '%s\n' "$output" | grep -E ': (warning|error): \[' || true)"
rule_findings="$(printf '%s\n' "$findings" | grep -Ev "$layout" | grep -v '^$' || true)"
layout_count="$(printf '%s\n' "$findings" | grep -cE "$layout" || true)"

if [ -n "$rule_findings" ]; then
    printf '%s\n' "$rule_findings"
    echo "format-lint: $(printf '%s\n' "$rule_findings" | wc -l) rule finding(s) (configuration: .swift-format)" >&2
    exit 1
fi
# A failure without any finding is swift-format's own (an unreadable file, a bad configuration).
if [ "$status" -ne 0 ] && [ -z "$findings" ]; then
    printf '%s\n' "$output" >&2
    echo "format-lint: swift format lint failed without findings" >&2
    exit 1
fi
echo "format-lint: no rule findings; $layout_count layout finding(s) counted, not failed (see the script's header)"
