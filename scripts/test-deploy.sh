#!/usr/bin/env bash
# Offline tests of scripts/deploy.sh, against a stub `aws` on PATH that records its arguments
# and answers describe-stacks from a file the test writes (or "does not exist"):
#   - every missing or malformed argument exits 2 with a message naming it, before anything is
#     built or sent to AWS (those that depend on the stack right after the read-only look at it);
#   - a first deploy passes the template's defaults; a redeploy without options passes no
#     parameter (each keeps the stack's value), and --dry-run says so; a given option overrides;
#   - --arch arm64 packages and deploys dist/arm64/<Function>.zip, with an arm64 layer only.
# The deploy runs in a scratch copy of the repository whose package.sh and lint-template.sh are
# stubs that record their arguments (building and linting have their own tests).
#
#   scripts/test-deploy.sh
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REGION=eu-west-1
VPC=vpc-0123456789abcdef0
SUBNETS=subnet-0123456789abcdef0,subnet-0123456789abcdef1
LAYER=arn:aws:lambda:eu-west-1:015030872274:layer:AWS-Parameters-and-Secrets-Lambda-Extension:12
LAYER_ARM64=arn:aws:lambda:eu-west-1:015030872274:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:12
FAILURES=0

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
REPO="$SCRATCH/repo"
mkdir -p "$REPO/scripts" "$REPO/dist/arm64" "$REPO/dist/elasticache-user-rotation" "$SCRATCH/bin"
cp "$REPO_ROOT/scripts/deploy.sh" "$REPO/scripts/"
cp "$REPO_ROOT/template.yaml" "$REPO/"
DEPLOY="$REPO/scripts/deploy.sh"
AWS_LOG="$SCRATCH/aws.log"
STACK_FILE="$SCRATCH/stack-parameters"
export AWS_LOG STACK_FILE
# The rotation function's source as deploy.sh leaves it after its download.
echo "# stand-in" > "$REPO/dist/elasticache-user-rotation/lambda_function.py"
sed -n 's/^ROTATION_SOURCE_COMMIT=//p' "$DEPLOY" > "$REPO/dist/elasticache-user-rotation/.commit"

cat > "$REPO/scripts/package.sh" <<'STUB'
#!/usr/bin/env bash
# Stub: records its arguments and makes the zips where the real one does.
echo "package.sh $*" >> "$AWS_LOG"
directory="$(dirname "$0")/../dist"
if [ "${1:-}" = --arch ]; then [ "$2" = arm64 ] && directory="$directory/arm64"; shift 2; fi
mkdir -p "$directory"
for function in "$@"; do echo zip > "$directory/$function.zip"; done
STUB
cat > "$REPO/scripts/lint-template.sh" <<'STUB'
#!/usr/bin/env bash
echo "lint-template.sh" >> "$AWS_LOG"
STUB
# One line per call, each argument on its own line after it: "aws" then the arguments, then "--".
cat > "$SCRATCH/bin/aws" <<'STUB'
#!/usr/bin/env bash
{ echo "aws"; printf '%s\n' "$@"; echo "--"; } >> "$AWS_LOG"
case "$1 $2" in
    "cloudformation describe-stacks")
        if [[ " $* " == *" Stacks[0].Outputs "* ]]; then exit 0; fi
        if [ -f "$STACK_FILE" ]; then cat "$STACK_FILE"; exit 0; fi
        echo "An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id $6 does not exist" >&2
        exit 254 ;;
    "cloudformation package")
        out=""; while [ $# -gt 0 ]; do [ "$1" = --output-template-file ] && out=$2; shift; done
        [ -n "$out" ] && echo "packaged" > "$out"
        exit 0 ;;
    *) exit 0 ;;
esac
STUB
chmod 755 "$REPO/scripts/"*.sh "$SCRATCH/bin/aws"
export PATH="$SCRATCH/bin:$PATH"

ok() { printf 'ok   %s\n' "$1"; }
fail() { printf 'FAIL %s\n' "$1"; FAILURES=$((FAILURES + 1)); }

# valid_arguments [EXCEPT OPTION]: a complete first-deploy argument list, without OPTION and its value.
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
    : > "$AWS_LOG"
    output=$("$DEPLOY" "$@" --dry-run 2>&1) || status=$?
    if [ "$status" -eq 2 ] && grep -qF -- "$expected" <<< "$output" && ! grep -q "package\|deploy$" "$AWS_LOG"; then
        ok "$description"
    else
        fail "$description: exit $status, expected 2 and \"$expected\", got:"; printf '%s\n' "$output"
    fi
}

with() { mapfile -t ARGS < <(valid_arguments "${1:-}"); }

# --- Argument errors (the stack does not exist: a first deploy) --------------------------------
rm -f "$STACK_FILE"
with --region;  expect_refusal "missing region" "missing --region" "${ARGS[@]}"
with --s3-bucket; expect_refusal "missing bucket" "missing --s3-bucket" "${ARGS[@]}"
with --vpc-id;  expect_refusal "first deploy without VPC" "its first deploy needs --vpc-id" "${ARGS[@]}"
with --subnet-ids; expect_refusal "first deploy without subnets" "its first deploy needs --subnet-ids" "${ARGS[@]}"
with --secrets-extension-layer; expect_refusal "first deploy without layer" "its first deploy needs --secrets-extension-layer" "${ARGS[@]}"
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
with; expect_refusal "too many shards" "--shards must be 1 to 5" "${ARGS[@]}" --shards 6
with; expect_refusal "architecture" "--arch must be x86_64 or arm64" "${ARGS[@]}" --arch aarch64
with; expect_refusal "arm64 with the x86_64 layer" "the functions run on arm64 but the extension layer is for x86_64" "${ARGS[@]}" --arch arm64
with; expect_refusal "x86_64 with the arm64 layer" "the functions run on x86_64 but the extension layer is for arm64" "${ARGS[@]}" --secrets-extension-layer "$LAYER_ARM64"
with; expect_refusal "runtime" "--runtime must be provided.al2023 or provided.al2" "${ARGS[@]}" --runtime python3.12
with; expect_refusal "alarm e-mail" "is not an e-mail address" "${ARGS[@]}" --alarm-email ops
with; expect_refusal "node type" "is not a node type" "${ARGS[@]}" --node-type t4g.micro
with; expect_refusal "log retention" "--log-retention-days must be one of" "${ARGS[@]}" --log-retention-days 10
with; expect_refusal "rotation period" "--rotation-days must be 1 to 1000" "${ARGS[@]}" --rotation-days 0
with; expect_refusal "JWT issuer without audience" "--jwt-issuer needs --jwt-audience" "${ARGS[@]}" --jwt-issuer https://issuer.example.com

# --- Deploys, recorded by the stub -----------------------------------------------------------
# deploy ARGUMENT...: runs a real deploy (stubs only) and leaves the `aws cloudformation deploy`
# call's arguments in DEPLOY_ARGS, one per line.
deploy() {
    : > "$AWS_LOG"
    rm -rf "$REPO/dist/"*.zip "$REPO/dist/arm64" "$REPO/.build-lambda"
    "$DEPLOY" "$@" > "$SCRATCH/deploy.out" 2>&1 || { fail "deploy $*: exit $?"; cat "$SCRATCH/deploy.out"; return 1; }
    DEPLOY_ARGS=$(awk '/^aws$/ {call=""; collecting=1; next} /^--$/ {if (call ~ /\ncloudformation\ndeploy\n/) print call; collecting=0; next} collecting {call = call "\n" $0}' "$AWS_LOG")
}
has() { grep -qxF -- "$1" <<< "$DEPLOY_ARGS"; }
expect_override() { if has "$1"; then ok "$2 passes $1"; else fail "$2 does not pass $1:"; printf '%s\n' "$DEPLOY_ARGS"; fi; }
expect_no_override() { if grep -q "^$1=" <<< "$DEPLOY_ARGS"; then fail "$2 passes $(grep "^$1=" <<< "$DEPLOY_ARGS") (would overwrite the stack's value)"; else ok "$2 leaves $1 to the stack"; fi; }

# A first deploy: every parameter with a default is passed with it.
rm -f "$STACK_FILE"
with; deploy "${ARGS[@]}"
for expected in "VpcId=$VPC" "SubnetIds=$SUBNETS" "SecretsExtensionLayerArn=$LAYER" Architecture=x86_64 Runtime=provided.al2023 \
                Production=false CacheNodeType=cache.t4g.micro ShardCount=1 ReplicaCount=0 CreateSecretsManagerEndpoint=true \
                LogRetentionDays=30 RotationPeriodDays=30; do
    expect_override "$expected" "first deploy"
done
grep -q "^package.sh PriceCacheHandler SignalHandler$" "$AWS_LOG" && ok "first deploy packages the x86_64 zips" || fail "first deploy did not run package.sh PriceCacheHandler SignalHandler"
grep -q "^      CodeUri: $REPO/dist/PriceCacheHandler.zip$" "$REPO/.build-lambda/template.yaml" && ok "x86_64 deploys dist/PriceCacheHandler.zip" || fail "x86_64 CodeUri wrong"

# The stack as a production deploy left it.
printf '%s\t%s\n' VpcId "$VPC" SubnetIds "$SUBNETS" SecretsExtensionLayerArn "$LAYER" Architecture x86_64 Runtime provided.al2023 \
    Production true CacheNodeType cache.r7g.large ShardCount 1 ReplicaCount 1 AlarmEmail ops@example.com \
    CreateSecretsManagerEndpoint true LogRetentionDays 90 RotationPeriodDays 30 JwtIssuer "" JwtAudience "" > "$STACK_FILE"

# A code redeploy without options: no parameter is passed, so each keeps its current value.
deploy --region "$REGION" --s3-bucket deploy-bucket
if grep -q "=" <<< "$DEPLOY_ARGS" || has --parameter-overrides; then fail "redeploy without options passes parameters:"; printf '%s\n' "$DEPLOY_ARGS"; else ok "redeploy without options passes no parameter"; fi
has --stack-name && has price-cache && ok "redeploy updates the same stack" || fail "redeploy stack name"

# The same redeploy as a dry run says what is kept.
: > "$AWS_LOG"
dry=$("$DEPLOY" --region "$REGION" --s3-bucket deploy-bucket --dry-run 2>&1)
for expected in "kept    Production=true" "kept    ReplicaCount=1" "kept    AlarmEmail=ops@example.com" "kept    CacheNodeType=cache.r7g.large" \
                "kept    LogRetentionDays=90" "stack price-cache exists"; do
    grep -qF -- "$expected" <<< "$dry" && ok "dry run shows '$expected'" || { fail "dry run lacks '$expected':"; printf '%s\n' "$dry"; }
done
if grep -qxF deploy "$AWS_LOG" || grep -qxF package "$AWS_LOG"; then fail "dry run packaged or deployed"; else ok "dry run packages and deploys nothing"; fi

# A given option overrides; the others stay.
deploy --region "$REGION" --s3-bucket deploy-bucket --replicas 2 --no-alarm-email
expect_override ReplicaCount=2 "--replicas 2"
expect_override "AlarmEmail=" "--no-alarm-email"
for kept in Production CacheNodeType ShardCount LogRetentionDays VpcId SubnetIds SecretsExtensionLayerArn; do expect_no_override "$kept" "--replicas 2"; done

# arm64: the arm64 zips and layer.
with --secrets-extension-layer; deploy "${ARGS[@]}" --arch arm64 --secrets-extension-layer "$LAYER_ARM64"
expect_override Architecture=arm64 "--arch arm64"
expect_override "SecretsExtensionLayerArn=$LAYER_ARM64" "--arch arm64"
grep -q "^package.sh --arch arm64 PriceCacheHandler SignalHandler$" "$AWS_LOG" && ok "--arch arm64 packages the arm64 zips" || fail "--arch arm64 did not run package.sh --arch arm64"
grep -q "^      CodeUri: $REPO/dist/arm64/SignalHandler.zip$" "$REPO/.build-lambda/template.yaml" && ok "--arch arm64 deploys dist/arm64/SignalHandler.zip" || fail "arm64 CodeUri wrong"
# Switching a stack to arm64 without the arm64 layer is refused (its current layer is x86_64's).
expect_refusal "--arch arm64 on an x86_64 stack without a layer" "the extension layer is for x86_64" --region "$REGION" --s3-bucket deploy-bucket --arch arm64

[ "$FAILURES" -eq 0 ] || { echo "$FAILURES deploy.sh test(s) failed"; exit 1; }
echo "deploy.sh: all tests passed"
