#!/usr/bin/env bash
# Builds the two function zips and deploys template.yaml with the AWS CLI.
#
#   scripts/deploy.sh --region REGION --vpc-id VPC --subnet-ids SUBNET,SUBNET[,...] \
#       --s3-bucket BUCKET --secrets-extension-layer LAYER_ARN [options]
#
# Options:
#   --stack-name NAME          default price-cache
#   --production               daily backups kept 7 days (pair it with --replicas 1 or more)
#   --replicas N               read replicas, 0-5 (default 0); 1+ turns on failover and Multi-AZ
#   --node-type TYPE           default cache.t4g.micro
#   --runtime RUNTIME          provided.al2023 (default) or provided.al2
#   --alarm-email ADDRESS      subscribe this address to the alarms
#   --no-secrets-manager-endpoint   the subnets already reach Secrets Manager
#   --skip-package             deploy the zips already in dist/
#   --dry-run                  check the arguments and print the AWS CLI commands, run nothing
#
# Argument errors exit 2 before anything is built or sent to AWS. See docs/deployment.md.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUNCTIONS=(PriceCacheHandler SignalHandler)

REGION="" VPC_ID="" SUBNET_IDS="" S3_BUCKET="" LAYER_ARN=""
STACK_NAME=price-cache PRODUCTION=false REPLICAS=0 NODE_TYPE=cache.t4g.micro RUNTIME=provided.al2023
ALARM_EMAIL="" SECRETS_MANAGER_ENDPOINT=true SKIP_PACKAGE=false DRY_RUN=false

usage_error() {
    printf 'error: %s\n' "$1" >&2
    printf 'usage: scripts/deploy.sh --region REGION --vpc-id VPC --subnet-ids SUBNET,SUBNET --s3-bucket BUCKET --secrets-extension-layer ARN [options]\n' >&2
    printf '       (scripts/deploy.sh --help lists the options)\n' >&2
    exit 2
}
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
log() { printf '==> %s\n' "$*" >&2; }

main() {
    parse_arguments "$@"
    validate_arguments
    if [ "$DRY_RUN" = false ]; then
        command -v aws >/dev/null || die "the AWS CLI (aws) is not installed: pip install awscli, or see https://aws.amazon.com/cli/"
        build_zips
        "$REPO_ROOT/scripts/lint-template.sh"
    fi
    deploy_stack
}

parse_arguments() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --help|-h) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
            --region) REGION=$(option_value "$@"); shift ;;
            --vpc-id) VPC_ID=$(option_value "$@"); shift ;;
            --subnet-ids) SUBNET_IDS=$(option_value "$@"); shift ;;
            --s3-bucket) S3_BUCKET=$(option_value "$@"); shift ;;
            --secrets-extension-layer) LAYER_ARN=$(option_value "$@"); shift ;;
            --stack-name) STACK_NAME=$(option_value "$@"); shift ;;
            --replicas) REPLICAS=$(option_value "$@"); shift ;;
            --node-type) NODE_TYPE=$(option_value "$@"); shift ;;
            --runtime) RUNTIME=$(option_value "$@"); shift ;;
            --alarm-email) ALARM_EMAIL=$(option_value "$@"); shift ;;
            --production) PRODUCTION=true ;;
            --no-secrets-manager-endpoint) SECRETS_MANAGER_ENDPOINT=false ;;
            --skip-package) SKIP_PACKAGE=true ;;
            --dry-run) DRY_RUN=true ;;
            *) usage_error "unknown argument '$1'" ;;
        esac
        shift
    done
}

# option_value OPTION REST...: the value after OPTION, refusing a missing one (or another option).
option_value() {
    [ $# -ge 2 ] && [ -n "$2" ] && [ "${2#--}" = "$2" ] || usage_error "$1 needs a value"
    printf '%s' "$2"
}

# Everything that can be checked without AWS, so a typo fails in a second, not after a build
# and a half-created stack.
validate_arguments() {
    [ -n "$REGION" ] || usage_error "missing --region (e.g. --region eu-west-1)"
    [ -n "$VPC_ID" ] || usage_error "missing --vpc-id (the VPC of the subnets)"
    [ -n "$SUBNET_IDS" ] || usage_error "missing --subnet-ids (two or more private subnets in different Availability Zones, comma-separated)"
    [ -n "$S3_BUCKET" ] || usage_error "missing --s3-bucket (an existing bucket in $REGION for the zips)"
    [ -n "$LAYER_ARN" ] || usage_error "missing --secrets-extension-layer (the x86_64 ARN of the AWS Parameters and Secrets Lambda Extension in $REGION; see docs/deployment.md)"

    [[ "$REGION" =~ ^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$ ]] || usage_error "--region '$REGION' is not a Region name such as eu-west-1"
    [[ "$VPC_ID" =~ ^vpc-[0-9a-f]{8,17}$ ]] || usage_error "--vpc-id '$VPC_ID' is not a VPC id (vpc-0123456789abcdef0)"
    validate_subnets
    [[ "$S3_BUCKET" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || usage_error "--s3-bucket '$S3_BUCKET' is not a valid bucket name"
    [[ "$LAYER_ARN" =~ ^arn:aws[a-z-]*:lambda:([a-z0-9-]+):[0-9]{12}:layer:AWS-Parameters-and-Secrets-Lambda-Extension:[0-9]+$ ]] \
        || usage_error "--secrets-extension-layer '$LAYER_ARN' is not an AWS-Parameters-and-Secrets-Lambda-Extension layer version ARN"
    [ "${BASH_REMATCH[1]}" = "$REGION" ] \
        || usage_error "--secrets-extension-layer is in ${BASH_REMATCH[1]}, the stack in $REGION: Lambda only attaches layers of its own Region"
    [[ "$REPLICAS" =~ ^[0-5]$ ]] || usage_error "--replicas must be 0 to 5, got '$REPLICAS'"
    [[ "$STACK_NAME" =~ ^[A-Za-z][A-Za-z0-9-]{0,127}$ ]] || usage_error "--stack-name '$STACK_NAME' is not a valid stack name"
    [[ "$NODE_TYPE" =~ ^cache\.[a-z0-9]+\.[a-z0-9]+$ ]] || usage_error "--node-type '$NODE_TYPE' is not a node type such as cache.t4g.micro"
    case "$RUNTIME" in
        provided.al2023|provided.al2) ;;
        *) usage_error "--runtime must be provided.al2023 or provided.al2, got '$RUNTIME'" ;;
    esac
    [ -z "$ALARM_EMAIL" ] || [[ "$ALARM_EMAIL" =~ ^[^@[:space:]]+@[^@[:space:]]+$ ]] || usage_error "--alarm-email '$ALARM_EMAIL' is not an e-mail address"
    if [ "$PRODUCTION" = true ] && [ "$REPLICAS" = 0 ]; then
        log "warning: --production without --replicas: no automatic failover, a node failure loses the cache until it is replaced"
    fi
}

validate_subnets() {
    local subnets subnet
    IFS=, read -r -a subnets <<< "$SUBNET_IDS"
    [ ${#subnets[@]} -ge 2 ] || usage_error "--subnet-ids needs two or more subnets (ElastiCache subnet groups and Multi-AZ span Availability Zones), got ${#subnets[@]}"
    for subnet in "${subnets[@]}"; do
        [[ "$subnet" =~ ^subnet-[0-9a-f]{8,17}$ ]] || usage_error "--subnet-ids: '$subnet' is not a subnet id (subnet-0123456789abcdef0)"
    done
    [ "$(printf '%s\n' "${subnets[@]}" | sort -u | wc -l)" -eq ${#subnets[@]} ] || usage_error "--subnet-ids lists a subnet twice"
}

build_zips() {
    if [ "$SKIP_PACKAGE" = true ]; then
        local function
        for function in "${FUNCTIONS[@]}"; do
            [ -f "$REPO_ROOT/dist/$function.zip" ] || die "dist/$function.zip is missing: run scripts/package.sh (or drop --skip-package)"
        done
    else
        "$REPO_ROOT/scripts/package.sh" "${FUNCTIONS[@]}"
    fi
}

# `aws cloudformation package` uploads dist/*.zip (named after their MD5, so an unchanged zip is
# neither uploaded nor redeployed) and writes a template pointing at them; `deploy` creates or
# updates the stack through a change set.
deploy_stack() {
    local packaged="$REPO_ROOT/.build-lambda/packaged-template.yaml"
    local package_command=(aws cloudformation package --region "$REGION" --template-file "$REPO_ROOT/template.yaml"
                           --s3-bucket "$S3_BUCKET" --s3-prefix "$STACK_NAME" --output-template-file "$packaged")
    local deploy_command=(aws cloudformation deploy --region "$REGION" --stack-name "$STACK_NAME"
                          --template-file "$packaged" --no-fail-on-empty-changeset
                          --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND
                          --parameter-overrides "Runtime=$RUNTIME" "Production=$PRODUCTION" "VpcId=$VPC_ID"
                          "SubnetIds=$SUBNET_IDS" "CacheNodeType=$NODE_TYPE" "ReplicaCount=$REPLICAS"
                          "SecretsExtensionLayerArn=$LAYER_ARN" "CreateSecretsManagerEndpoint=$SECRETS_MANAGER_ENDPOINT"
                          "AlarmEmail=$ALARM_EMAIL")
    local outputs_command=(aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME"
                           --query "Stacks[0].Outputs" --output table)
    if [ "$DRY_RUN" = true ]; then
        printf '%q ' "${package_command[@]}"; echo
        printf '%q ' "${deploy_command[@]}"; echo
        return 0
    fi
    mkdir -p "$(dirname "$packaged")"
    log "uploading the zips to s3://$S3_BUCKET/$STACK_NAME/"
    "${package_command[@]}" >&2 || die "aws cloudformation package failed (does the bucket exist in $REGION, are credentials set?)"
    log "deploying stack $STACK_NAME in $REGION (a new ElastiCache group takes 10 to 20 minutes)"
    "${deploy_command[@]}" || die "aws cloudformation deploy failed: see the stack events in the CloudFormation console or 'aws cloudformation describe-stack-events --stack-name $STACK_NAME --region $REGION'"
    "${outputs_command[@]}"
}

main "$@"
