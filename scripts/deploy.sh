#!/usr/bin/env bash
# Builds the function zips and deploys template.yaml with the AWS CLI.
#
#   first deploy:  scripts/deploy.sh --region REGION --s3-bucket BUCKET --vpc-id VPC \
#                      --subnet-ids SUBNET,SUBNET[,...] --secrets-extension-layer LAYER_ARN [options]
#   redeploy:      scripts/deploy.sh --region REGION --s3-bucket BUCKET [options]
#
# A redeploy keeps every setting of the stack that no option names (the CLI's behaviour for a
# parameter left out): a code redeploy never turns failover, backups or the alarm e-mail off.
# Only a first deploy takes the template's defaults. Options given always override.
#
# Options (template parameter in brackets):
#   --stack-name NAME          default price-cache
#   --vpc-id VPC               [VpcId] required on a first deploy
#   --subnet-ids A,B[,...]     [SubnetIds] required on a first deploy
#   --secrets-extension-layer ARN   [SecretsExtensionLayerArn] required on a first deploy and when
#                              --arch changes the architecture (the layer is per architecture)
#   --arch x86_64|arm64        [Architecture] default x86_64; zips from dist/ (x86_64) or dist/arm64/
#   --production | --no-production  [Production] daily backups kept 7 days, or none
#   --replicas N               [ReplicaCount] replicas per shard, 0-5; 1+ turns on failover and Multi-AZ
#   --shards N                 [ShardCount] 1 (cluster mode disabled) to 5 (cluster mode enabled)
#   --node-type TYPE           [CacheNodeType] e.g. cache.t4g.micro, cache.r7g.large
#   --runtime RUNTIME          [Runtime] provided.al2023 or provided.al2
#   --alarm-email ADDRESS | --no-alarm-email   [AlarmEmail] subscribe this address, or nobody
#   --log-retention-days N     [LogRetentionDays] a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, ...)
#   --rotation-days N          [RotationPeriodDays] days between password rotations, 1-1000
#   --jwt-issuer URL --jwt-audience A[,B]   [JwtIssuer, JwtAudience] a JWT authorizer instead of AWS_IAM
#   --no-jwt                   back to AWS_IAM (clears both)
#   --no-secrets-manager-endpoint | --secrets-manager-endpoint   [CreateSecretsManagerEndpoint]
#   --skip-package             deploy the zips already in dist/
#   --dry-run                  ask AWS (read only) whether the stack exists and what it holds, then
#                              print, per parameter, the value set, kept or defaulted, and the AWS
#                              CLI commands; change nothing
#
# Argument errors exit 2 before anything is built or sent to AWS (those that depend on the stack,
# such as a first deploy without --vpc-id, right after the read-only look at it). See the README,
# "Deployment".
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUNCTIONS=(PriceCacheHandler SignalHandler)
LAYER_NAME=AWS-Parameters-and-Secrets-Lambda-Extension
# AWS's rotation function for ElastiCache users, pinned by commit (AWS does not publish it in the
# Serverless Application Repository; see the README, "Password rotation").
ROTATION_SOURCE_COMMIT=5dbe8b9be172d857fc483369ba7173cf826d965f
ROTATION_SOURCE_URL="https://raw.githubusercontent.com/aws-samples/aws-secrets-manager-rotation-lambdas/$ROTATION_SOURCE_COMMIT/SecretsManagerElasticacheUserRotation/lambda_function.py"

# Template parameters, in the order they are printed, with the template's defaults; "" = none.
PARAMETERS=(VpcId SubnetIds SecretsExtensionLayerArn Architecture Runtime Production CacheNodeType ShardCount
            ReplicaCount AlarmEmail CreateSecretsManagerEndpoint LogRetentionDays RotationPeriodDays JwtIssuer JwtAudience)
declare -A DEFAULTS=([Architecture]=x86_64 [Runtime]=provided.al2023 [Production]=false [CacheNodeType]=cache.t4g.micro
                     [ShardCount]=1 [ReplicaCount]=0 [AlarmEmail]="" [CreateSecretsManagerEndpoint]=true
                     [LogRetentionDays]=30 [RotationPeriodDays]=30 [JwtIssuer]="" [JwtAudience]="")
REQUIRED_ON_FIRST_DEPLOY=(VpcId SubnetIds SecretsExtensionLayerArn)
declare -A OPTION_OF=([VpcId]=--vpc-id [SubnetIds]=--subnet-ids [SecretsExtensionLayerArn]=--secrets-extension-layer)
LOG_RETENTION_VALUES=" 1 3 5 7 14 30 60 90 120 150 180 365 400 545 731 1096 1827 2192 2557 2922 3288 3653 "

REGION="" S3_BUCKET="" STACK_NAME=price-cache SKIP_PACKAGE=false DRY_RUN=false
declare -A GIVEN=()     # parameters an option set, and their values
declare -A CURRENT=()   # the existing stack's parameter values
STACK_EXISTS=false

usage_error() {
    printf 'error: %s\n' "$1" >&2
    printf 'usage: scripts/deploy.sh --region REGION --s3-bucket BUCKET [--vpc-id VPC --subnet-ids SUBNET,SUBNET --secrets-extension-layer ARN] [options]\n' >&2
    printf '       (scripts/deploy.sh --help lists the options)\n' >&2
    exit 2
}
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
log() { printf '==> %s\n' "$*" >&2; }

main() {
    parse_arguments "$@"
    validate_arguments
    command -v aws >/dev/null || die "the AWS CLI (aws) is not installed: pip install awscli, or see https://aws.amazon.com/cli/"
    read_current_stack
    validate_against_stack
    if [ "$DRY_RUN" = false ]; then
        build_zips
        fetch_rotation_function
        "$REPO_ROOT/scripts/lint-template.sh"
    fi
    deploy_stack
}

parse_arguments() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --help|-h) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
            --region) REGION=$(option_value "$@"); shift ;;
            --s3-bucket) S3_BUCKET=$(option_value "$@"); shift ;;
            --stack-name) STACK_NAME=$(option_value "$@"); shift ;;
            --vpc-id) GIVEN[VpcId]=$(option_value "$@"); shift ;;
            --subnet-ids) GIVEN[SubnetIds]=$(option_value "$@"); shift ;;
            --secrets-extension-layer) GIVEN[SecretsExtensionLayerArn]=$(option_value "$@"); shift ;;
            --arch) GIVEN[Architecture]=$(option_value "$@"); shift ;;
            --replicas) GIVEN[ReplicaCount]=$(option_value "$@"); shift ;;
            --shards) GIVEN[ShardCount]=$(option_value "$@"); shift ;;
            --node-type) GIVEN[CacheNodeType]=$(option_value "$@"); shift ;;
            --runtime) GIVEN[Runtime]=$(option_value "$@"); shift ;;
            --alarm-email) GIVEN[AlarmEmail]=$(option_value "$@"); shift ;;
            --no-alarm-email) GIVEN[AlarmEmail]="" ;;
            --log-retention-days) GIVEN[LogRetentionDays]=$(option_value "$@"); shift ;;
            --rotation-days) GIVEN[RotationPeriodDays]=$(option_value "$@"); shift ;;
            --jwt-issuer) GIVEN[JwtIssuer]=$(option_value "$@"); shift ;;
            --jwt-audience) GIVEN[JwtAudience]=$(option_value "$@"); shift ;;
            --no-jwt) GIVEN[JwtIssuer]="" GIVEN[JwtAudience]="" ;;
            --production) GIVEN[Production]=true ;;
            --no-production) GIVEN[Production]=false ;;
            --no-secrets-manager-endpoint) GIVEN[CreateSecretsManagerEndpoint]=false ;;
            --secrets-manager-endpoint) GIVEN[CreateSecretsManagerEndpoint]=true ;;
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

given() { [ -n "${GIVEN[$1]+set}" ]; }

# Everything that can be checked without AWS, so a typo fails in a second, not after a build
# and a half-created stack.
validate_arguments() {
    [ -n "$REGION" ] || usage_error "missing --region (e.g. --region eu-west-1)"
    [ -n "$S3_BUCKET" ] || usage_error "missing --s3-bucket (an existing bucket in $REGION for the zips)"
    [[ "$REGION" =~ ^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$ ]] || usage_error "--region '$REGION' is not a Region name such as eu-west-1"
    [[ "$S3_BUCKET" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || usage_error "--s3-bucket '$S3_BUCKET' is not a valid bucket name"
    [[ "$STACK_NAME" =~ ^[A-Za-z][A-Za-z0-9-]{0,127}$ ]] || usage_error "--stack-name '$STACK_NAME' is not a valid stack name"
    ! given VpcId || [[ "${GIVEN[VpcId]}" =~ ^vpc-[0-9a-f]{8,17}$ ]] || usage_error "--vpc-id '${GIVEN[VpcId]}' is not a VPC id (vpc-0123456789abcdef0)"
    ! given SubnetIds || validate_subnets "${GIVEN[SubnetIds]}"
    ! given SecretsExtensionLayerArn || validate_layer "${GIVEN[SecretsExtensionLayerArn]}"
    if given Architecture; then
        case "${GIVEN[Architecture]}" in x86_64|arm64) ;; *) usage_error "--arch must be x86_64 or arm64, got '${GIVEN[Architecture]}'" ;; esac
    fi
    ! given ReplicaCount || [[ "${GIVEN[ReplicaCount]}" =~ ^[0-5]$ ]] || usage_error "--replicas must be 0 to 5, got '${GIVEN[ReplicaCount]}'"
    ! given ShardCount || [[ "${GIVEN[ShardCount]}" =~ ^[1-5]$ ]] || usage_error "--shards must be 1 to 5, got '${GIVEN[ShardCount]}'"
    ! given CacheNodeType || [[ "${GIVEN[CacheNodeType]}" =~ ^cache\.[a-z0-9]+\.[a-z0-9]+$ ]] || usage_error "--node-type '${GIVEN[CacheNodeType]}' is not a node type such as cache.t4g.micro"
    if given Runtime; then
        case "${GIVEN[Runtime]}" in provided.al2023|provided.al2) ;; *) usage_error "--runtime must be provided.al2023 or provided.al2, got '${GIVEN[Runtime]}'" ;; esac
    fi
    ! given AlarmEmail || [ -z "${GIVEN[AlarmEmail]}" ] || [[ "${GIVEN[AlarmEmail]}" =~ ^[^@[:space:]]+@[^@[:space:]]+$ ]] || usage_error "--alarm-email '${GIVEN[AlarmEmail]}' is not an e-mail address"
    ! given LogRetentionDays || [[ "$LOG_RETENTION_VALUES" == *" ${GIVEN[LogRetentionDays]} "* ]] || usage_error "--log-retention-days must be one of CloudWatch Logs' values:$LOG_RETENTION_VALUES"
    ! given RotationPeriodDays || { [[ "${GIVEN[RotationPeriodDays]}" =~ ^[1-9][0-9]{0,3}$ ]] && [ "${GIVEN[RotationPeriodDays]}" -le 1000 ]; } || usage_error "--rotation-days must be 1 to 1000, got '${GIVEN[RotationPeriodDays]}'"
    ! given JwtIssuer || [ -z "${GIVEN[JwtIssuer]}" ] || [[ "${GIVEN[JwtIssuer]}" =~ ^https://[^[:space:]]+$ ]] || usage_error "--jwt-issuer must be an https:// URL, got '${GIVEN[JwtIssuer]}'"
    if given JwtIssuer && [ -n "${GIVEN[JwtIssuer]}" ] && ! given JwtAudience; then usage_error "--jwt-issuer needs --jwt-audience (the accepted aud or client_id values)"; fi
    if given JwtAudience && [ -n "${GIVEN[JwtAudience]}" ] && ! given JwtIssuer; then usage_error "--jwt-audience needs --jwt-issuer"; fi
    if [ "${GIVEN[Production]:-}" = true ] && [ "${GIVEN[ReplicaCount]:-}" = 0 ]; then
        log "warning: --production with --replicas 0: no automatic failover, a node failure loses the cache until it is replaced"
    fi
}

validate_subnets() {
    local subnets subnet
    IFS=, read -r -a subnets <<< "$1"
    [ ${#subnets[@]} -ge 2 ] || usage_error "--subnet-ids needs two or more subnets (ElastiCache subnet groups and Multi-AZ span Availability Zones), got ${#subnets[@]}"
    for subnet in "${subnets[@]}"; do
        [[ "$subnet" =~ ^subnet-[0-9a-f]{8,17}$ ]] || usage_error "--subnet-ids: '$subnet' is not a subnet id (subnet-0123456789abcdef0)"
    done
    [ "$(printf '%s\n' "${subnets[@]}" | sort -u | wc -l)" -eq ${#subnets[@]} ] || usage_error "--subnet-ids lists a subnet twice"
}

validate_layer() {
    [[ "$1" =~ ^arn:aws[a-z-]*:lambda:([a-z0-9-]+):[0-9]{12}:layer:$LAYER_NAME(-Arm64)?:[0-9]+$ ]] \
        || usage_error "--secrets-extension-layer '$1' is not an $LAYER_NAME (or -Arm64) layer version ARN"
    [ "${BASH_REMATCH[1]}" = "$REGION" ] \
        || usage_error "--secrets-extension-layer is in ${BASH_REMATCH[1]}, the stack in $REGION: Lambda only attaches layers of its own Region"
}

# The architecture a layer ARN was built for: its name ends in -Arm64 for arm64.
layer_architecture() {
    if [[ "$1" == *":layer:$LAYER_NAME-Arm64:"* ]]; then echo arm64; else echo x86_64; fi
}

# Whether the stack exists and, if so, its parameters (read only). "does not exist" means a first
# deploy; any other failure (credentials, network) stops here rather than being taken for one.
read_current_stack() {
    local output status=0
    output=$(aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME" \
                 --query 'Stacks[0].Parameters[].[ParameterKey,ParameterValue]' --output text 2>&1) || status=$?
    if [ "$status" -ne 0 ]; then
        grep -q "does not exist" <<< "$output" || die "aws cloudformation describe-stacks failed: $output"
        STACK_EXISTS=false
        return 0
    fi
    STACK_EXISTS=true
    local key value
    while IFS=$'\t' read -r key value; do
        [ -n "$key" ] && [ "$key" != None ] && CURRENT[$key]=$value
    done <<< "$output"
}

# The value a parameter will have: given, else the stack's (redeploy), else the default.
effective() {
    if given "$1"; then printf '%s' "${GIVEN[$1]}"
    elif [ "$STACK_EXISTS" = true ] && [ -n "${CURRENT[$1]+set}" ]; then printf '%s' "${CURRENT[$1]}"
    else printf '%s' "${DEFAULTS[$1]:-}"
    fi
}

validate_against_stack() {
    local parameter
    if [ "$STACK_EXISTS" = false ]; then
        for parameter in "${REQUIRED_ON_FIRST_DEPLOY[@]}"; do
            given "$parameter" || usage_error "stack $STACK_NAME does not exist in $REGION yet: its first deploy needs ${OPTION_OF[$parameter]}"
        done
    fi
    local architecture layer
    architecture=$(effective Architecture)
    layer=$(effective SecretsExtensionLayerArn)
    if [ -n "$layer" ] && [ "$(layer_architecture "$layer")" != "$architecture" ]; then
        usage_error "the functions run on $architecture but the extension layer is for $(layer_architecture "$layer"): pass --secrets-extension-layer with the $architecture layer (AWS-Parameters-and-Secrets-Lambda-Extension$([ "$architecture" = arm64 ] && echo -Arm64)) of $REGION"
    fi
    if [ "$(effective JwtIssuer)" != "" ] && [ "$(effective JwtAudience)" = "" ]; then
        usage_error "a JWT issuer without an audience: pass --jwt-audience (or --no-jwt)"
    fi
}

# dist/<Function>.zip for x86_64, dist/arm64/<Function>.zip for arm64 (scripts/package.sh --arch).
zip_directory() {
    if [ "$(effective Architecture)" = arm64 ]; then echo "$REPO_ROOT/dist/arm64"; else echo "$REPO_ROOT/dist"; fi
}

build_zips() {
    local architecture directory function
    architecture=$(effective Architecture)
    directory=$(zip_directory)
    if [ "$SKIP_PACKAGE" = false ]; then
        if [ "$architecture" = arm64 ]; then
            "$REPO_ROOT/scripts/package.sh" --arch arm64 "${FUNCTIONS[@]}"
        else
            "$REPO_ROOT/scripts/package.sh" "${FUNCTIONS[@]}"
        fi
    fi
    for function in "${FUNCTIONS[@]}"; do
        [ -f "$directory/$function.zip" ] || die "${directory#"$REPO_ROOT"/}/$function.zip is missing: run scripts/package.sh$([ "$architecture" = arm64 ] && echo " --arch arm64") (or drop --skip-package)"
    done
}

fetch_rotation_function() {
    local directory="$REPO_ROOT/dist/elasticache-user-rotation"
    [ -s "$directory/lambda_function.py" ] && [ "$(cat "$directory/.commit" 2>/dev/null)" = "$ROTATION_SOURCE_COMMIT" ] && return 0
    log "fetching AWS's ElastiCache user rotation function at commit $ROTATION_SOURCE_COMMIT"
    mkdir -p "$directory"
    curl -fsSL --retry 3 -o "$directory/lambda_function.py" "$ROTATION_SOURCE_URL" \
        || die "could not download $ROTATION_SOURCE_URL"
    echo "$ROTATION_SOURCE_COMMIT" > "$directory/.commit"
}

# Overrides for `aws cloudformation deploy`: on a first deploy every parameter (given or default);
# on a redeploy only the given ones: a parameter left out keeps the stack's current value.
parameter_overrides() {
    local parameter
    for parameter in "${PARAMETERS[@]}"; do
        if given "$parameter" || [ "$STACK_EXISTS" = false ]; then
            [ -n "$(effective "$parameter")" ] || given "$parameter" || continue
            printf '%s\n' "$parameter=$(effective "$parameter")"
        fi
    done
}

# One line per parameter: set by an option, kept from the stack, or the template's default.
describe_parameters() {
    local parameter source
    if [ "$STACK_EXISTS" = true ]; then
        echo "stack $STACK_NAME exists in $REGION: options given override, every other parameter keeps its current value"
    else
        echo "stack $STACK_NAME does not exist in $REGION: first deploy, parameters not given take the template's defaults"
    fi
    for parameter in "${PARAMETERS[@]}"; do
        if given "$parameter"; then source="set"
        elif [ "$STACK_EXISTS" = true ] && [ -n "${CURRENT[$parameter]+set}" ]; then source="kept"
        else source="default"
        fi
        printf '  %-7s %s=%s\n' "$source" "$parameter" "$(effective "$parameter")"
    done
}

# `aws cloudformation package` uploads the zips (named after their MD5, so an unchanged zip is
# neither uploaded nor redeployed) and writes a template pointing at them; `deploy` creates or
# updates the stack through a change set. The template is copied first, its code paths made
# absolute and pointed at the chosen architecture's zips.
deploy_stack() {
    local work="$REPO_ROOT/.build-lambda"
    local source_template="$work/template.yaml" packaged="$work/packaged-template.yaml"
    local overrides=()
    mapfile -t overrides < <(parameter_overrides)
    local package_command=(aws cloudformation package --region "$REGION" --template-file "$source_template"
                           --s3-bucket "$S3_BUCKET" --s3-prefix "$STACK_NAME" --output-template-file "$packaged")
    local deploy_command=(aws cloudformation deploy --region "$REGION" --stack-name "$STACK_NAME"
                          --template-file "$packaged" --no-fail-on-empty-changeset
                          --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND)
    [ ${#overrides[@]} -eq 0 ] || deploy_command+=(--parameter-overrides "${overrides[@]}")
    local outputs_command=(aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK_NAME"
                           --query "Stacks[0].Outputs" --output table)
    if [ "$DRY_RUN" = true ]; then
        describe_parameters
        printf '%q ' "${package_command[@]}"; echo
        printf '%q ' "${deploy_command[@]}"; echo
        return 0
    fi
    mkdir -p "$work"
    sed -e "s|^\(      CodeUri: \)dist/\([A-Za-z]*\.zip\)$|\1$(zip_directory)/\2|" \
        -e "s|^\(      Code: \)dist/|\1$REPO_ROOT/dist/|" "$REPO_ROOT/template.yaml" > "$source_template"
    describe_parameters >&2
    log "uploading the zips to s3://$S3_BUCKET/$STACK_NAME/"
    "${package_command[@]}" >&2 || die "aws cloudformation package failed (does the bucket exist in $REGION, are credentials set?)"
    log "deploying stack $STACK_NAME in $REGION (a new ElastiCache group takes 10 to 20 minutes)"
    "${deploy_command[@]}" || die "aws cloudformation deploy failed: see the stack events in the CloudFormation console or 'aws cloudformation describe-stack-events --stack-name $STACK_NAME --region $REGION'"
    "${outputs_command[@]}"
}

main "$@"
