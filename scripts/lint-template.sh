#!/usr/bin/env bash
# Validates template.yaml offline: the pinned cfn-lint (no finding allowed), then the checks
# cfn-lint does not make (scripts/template_checks.py, partly on the plain CloudFormation the pinned
# aws-sam-translator expands the template to, without any AWS call), then the tests proving those
# checks refuse broken variants of the template.
#
#   scripts/lint-template.sh
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$REPO_ROOT/scripts/lib/versions.sh"
. "$REPO_ROOT/scripts/lib/tools.sh"

ensure_pip_package cfn-lint "$CFN_LINT_PYPI_VERSION"
ensure_pip_package aws-sam-translator "$SAM_TRANSLATOR_PYPI_VERSION"
PYTHON="$TOOLS_DIR/venv/bin/python"

log "cfn-lint $CFN_LINT_PYPI_VERSION template.yaml"
"$TOOLS_DIR/venv/bin/cfn-lint" "$REPO_ROOT/template.yaml" || die "cfn-lint reported findings (above)"

log "template_checks.py template.yaml"
"$PYTHON" "$REPO_ROOT/scripts/template_checks.py" "$REPO_ROOT/template.yaml" || die "template checks failed (above)"

log "tests of the template checks"
(cd "$REPO_ROOT/scripts" && "$PYTHON" -m unittest -q test_template_checks.py) || die "the template check tests failed"
log "template.yaml: no finding"
