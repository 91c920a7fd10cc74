#!/usr/bin/env bash
# The code as .swift-format lays it out: `swift format lint --strict` over every Swift folder, so
# any finding (a rule's or the pretty-printer's layout) fails the stage. To mend a finding, run
#   swift format format --in-place --recursive Sources Tests Examples Benchmarks Fuzz Package.swift
# and commit the result with the change.
set -euo pipefail
cd "$(dirname "$0")/.."

folders=()
for folder in Sources Tests Examples Benchmarks Fuzz Package.swift; do
    [ -e "$folder" ] && folders+=("$folder")
done

if ! swift format lint --strict --recursive --parallel "${folders[@]}"; then
    echo "format-lint: the code differs from .swift-format's layout or rules (see above); run swift format format as the header says" >&2
    exit 1
fi
echo "format-lint: the code satisfies .swift-format"
