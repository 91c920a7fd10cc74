#!/usr/bin/env bash
# Offline tests of scripts/deploy.sh's argument handling: every missing or malformed argument
# exits 2 with a message naming it, before anything is built or sent to AWS; valid arguments
# produce the expected AWS CLI commands (--dry-run).
#
#   scripts/test-deploy.sh
set -euo pipefail

DEPLOY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/deploy.sh"
REGION=eu-west-1
VPC=vpc-0123456789abcdef0
SUBNETS=subnet-0123456789abcdef0,subnet-0123456789abcdef1
LAYER=arn:aws:lambda:eu-west-1:015030872274:layer:AWS-Parameters-and-Secrets-Lambda-Extension:12
FAILURES=0

# valid_arguments [EXCEPT OPTION]: a complete argument list, without OPTION and its value.
valid_arguments() {
    local skip=${1:-}
    local -a all=(--region "$REGION" --vpc-id "$VPC" --subnet-ids "$SUBNETS" --s3-bucket deploy-bucket
                  --secrets-extension-layer "$LAYER")
    local index
    for ((index = 0; index < ${#all[@]}; index += 2)); do
        [ "${all[index]}" = "$skip" ] || printf '%s\n%s\n' "${all[index]}" "${all[index + 1]}"
    done
}

# expect_refusal DESCRIPTION EXPECTED_MESSAGE ARGUMENT...
expect_refusal() {
    local description=$1 expected=$2 output status=0
    shift 2
    output=$("$DEPLOY" "$@" --dry-run 2>&1) || status=$?
    if [ "$status" -eq 2 ] && grep -qF -- "$expected" <<< "$output"; then
        printf 'ok   %s\n' "$description"
    else
        printf 'FAIL %s: exit %s, expected 2 and "%s", got:\n%s\n' "$description" "$status" "$expected" "$output"
        FAILURES=$((FAILURES + 1))
    fi
}

with() { mapfile -t ARGS < <(valid_arguments "${1:-}"); }

with --region;  expect_refusal "missing region" "missing --region" "${ARGS[@]}"
with --vpc-id;  expect_refusal "missing VPC" "missing --vpc-id" "${ARGS[@]}"
with --subnet-ids; expect_refusal "missing subnets" "missing --subnet-ids" "${ARGS[@]}"
with --s3-bucket; expect_refusal "missing bucket" "missing --s3-bucket" "${ARGS[@]}"
with --secrets-extension-layer; expect_refusal "missing layer" "missing --secrets-extension-layer" "${ARGS[@]}"
with; expect_refusal "option without value" "--region needs a value" "${ARGS[@]}" --region
with; expect_refusal "option followed by another option" "--stack-name needs a value" "${ARGS[@]}" --stack-name --production
with; expect_refusal "unknown option" "unknown argument '--regoin'" "${ARGS[@]}" --regoin x
with; expect_refusal "malformed region" "--region 'Europe' is not a Region name" "${ARGS[@]}" --region Europe
with; expect_refusal "malformed VPC" "--vpc-id 'vpc-xyz' is not a VPC id" "${ARGS[@]}" --vpc-id vpc-xyz
with; expect_refusal "one subnet" "needs two or more subnets" "${ARGS[@]}" --subnet-ids subnet-0123456789abcdef0
with; expect_refusal "malformed subnet" "'sub-1' is not a subnet id" "${ARGS[@]}" --subnet-ids subnet-0123456789abcdef0,sub-1
with; expect_refusal "duplicate subnet" "lists a subnet twice" "${ARGS[@]}" --subnet-ids subnet-0123456789abcdef0,subnet-0123456789abcdef0
with; expect_refusal "malformed bucket" "is not a valid bucket name" "${ARGS[@]}" --s3-bucket Bad_Bucket
with; expect_refusal "layer of another extension" "is not an AWS-Parameters-and-Secrets-Lambda-Extension" "${ARGS[@]}" --secrets-extension-layer arn:aws:lambda:eu-west-1:123456789012:layer:other:1
with; expect_refusal "layer of another Region" "the stack in us-east-1" "${ARGS[@]}" --region us-east-1
with; expect_refusal "too many replicas" "--replicas must be 0 to 5" "${ARGS[@]}" --replicas 6
with; expect_refusal "runtime" "--runtime must be provided.al2023 or provided.al2" "${ARGS[@]}" --runtime python3.12
with; expect_refusal "alarm e-mail" "is not an e-mail address" "${ARGS[@]}" --alarm-email ops
with; expect_refusal "node type" "is not a node type" "${ARGS[@]}" --node-type t4g.micro

# A valid call prints the two AWS CLI commands with the parameters passed through.
with
commands=$("$DEPLOY" "${ARGS[@]}" --replicas 2 --production --stack-name prices-prod --alarm-email ops@example.com --dry-run 2>&1)
for expected in "aws cloudformation package --region eu-west-1" "--s3-bucket deploy-bucket" \
                "aws cloudformation deploy --region eu-west-1 --stack-name prices-prod" "ReplicaCount=2" "Production=true" \
                "SubnetIds=subnet-0123456789abcdef0\\,subnet-0123456789abcdef1" "SecretsExtensionLayerArn=$LAYER" \
                "Runtime=provided.al2023" "AlarmEmail=ops@example.com" "CAPABILITY_AUTO_EXPAND"; do
    if grep -qF -- "$expected" <<< "$commands"; then
        printf 'ok   dry run has %s\n' "$expected"
    else
        printf 'FAIL dry run lacks %s:\n%s\n' "$expected" "$commands"
        FAILURES=$((FAILURES + 1))
    fi
done

[ "$FAILURES" -eq 0 ] || { echo "$FAILURES deploy.sh test(s) failed"; exit 1; }
echo "deploy.sh: all argument tests passed"
