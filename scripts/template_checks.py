#!/usr/bin/env python3
"""Checks template.yaml for the mistakes cfn-lint lets through, each of which only shows up
(or worse, silently weakens the cache) at deploy time:

- an AuthToken without TransitEncryptionEnabled: true (ElastiCache refuses AUTH without TLS);
- an AuthToken that is not a well-formed Secrets Manager dynamic reference, or a literal token
  (outside ElastiCache's rules, or a secret committed to source control), or a generated secret
  whose generation rules can produce a token ElastiCache refuses;
- automatic failover or Multi-AZ that can be on while the group has a single node;
- an engine other than Redis 7.x, encryption at rest off;
- the cache port open to an address range instead of the functions' security group;
- a function given the token in plain text, or a Redis endpoint without TLS;
- RBAC: a user group without a powerless `default` user, the functions' user with an access
  string other than the one in deploy/redis-functions.acl (the one the Swift suite enforces), or
  functions that do not authenticate as that user (REDIS_USERNAME);
- rotation: a functions' secret not in the JSON structure of ElastiCache users, no rotation
  schedule, an extension cache that would answer a re-read after a rotation with the old password;

and, on the plain CloudFormation that aws-sam-translator (pinned, with its bundled list of
managed policies, no AWS call) expands the template to:

- a function policy statement with Resource "*" other than the few AWS requires (listed below,
  each with its reason), or a managed policy on a function's role;
- an alarm action to a topic whose key CloudWatch may not use (alias/aws/sns);
- a function without its own log group, a log group without retention, an HTTP API stage
  without access logs;
- a dashboard or an alarm naming a metric that does not exist (namespace and name checked
  against the list below), or a dashboard missing one the operator needs.

    template_checks.py [TEMPLATE]     (default: template.yaml next to scripts/)

Prints one line per finding and exits 1 when there is any. Needs cfn-lint's YAML loader (the
pinned cfn-lint of scripts/lint-template.sh).
"""
import copy
import json
import os
import re
import string
import sys

from cfnlint.decode import cfn_yaml

REPLICATION_GROUP = "AWS::ElastiCache::ReplicationGroup"
SECRET = "AWS::SecretsManager::Secret"
FUNCTION = "AWS::Serverless::Function"
REDIS_PORT = 6379

# ElastiCache's AUTH token rules: 16 to 128 printable ASCII characters; the only punctuation
# allowed is ! & # $ ^ < > - (no space, no " / @ and so on).
TOKEN_MIN_LENGTH, TOKEN_MAX_LENGTH = 16, 128
TOKEN_PUNCTUATION = set("!&#$^<>-")
FORBIDDEN_PUNCTUATION = set(string.punctuation) - TOKEN_PUNCTUATION
# Secrets Manager's GenerateSecretString default length.
DEFAULT_GENERATED_LENGTH = 32

PLACEHOLDER_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:placeholder-AbCdEf"

REPO_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ACCESS_STRING_FILE = os.path.join(REPO_ROOT, "deploy", "redis-functions.acl")

# The only actions a function's role may grant on Resource "*", each with why IAM leaves no
# narrower choice.
WILDCARD_ACTIONS_AWS_REQUIRES = {
    "ec2:CreateNetworkInterface": "Lambda attaches a VPC function through network interfaces it creates before the function runs",
    "ec2:DescribeNetworkInterfaces": "Describe actions support no resource-level permissions",
    "ec2:DescribeSubnets": "Describe actions support no resource-level permissions",
    "ec2:DeleteNetworkInterface": "the interfaces Lambda created have ids unknown to the template",
    "ec2:AssignPrivateIpAddresses": "the interfaces Lambda created have ids unknown to the template",
    "ec2:UnassignPrivateIpAddresses": "the interfaces Lambda created have ids unknown to the template",
    "secretsmanager:GetRandomPassword": "it acts on no resource (the rotation function generates the new password)",
}

# Every metric an alarm or the dashboard may name: namespace -> names. AWS's from the ElastiCache,
# Lambda and SQS metric references; PriceCache's are the functions' EMF line (InvocationMetrics)
# and the client's recovery counters.
KNOWN_METRICS = {
    "AWS/ElastiCache": {"EngineCPUUtilization", "CPUUtilization", "DatabaseMemoryUsagePercentage", "NetworkBytesIn",
                        "NetworkBytesOut", "CacheHits", "CacheMisses", "CacheHitRate", "Evictions", "CurrConnections",
                        "NewConnections", "ReplicationLag", "CurrItems"},
    "AWS/Lambda": {"Invocations", "Errors", "Throttles", "Duration", "IteratorAge", "ConcurrentExecutions"},
    "AWS/SQS": {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", "NumberOfMessagesSent"},
    "PriceCache": {"RecordsWritten", "StaleSkipped", "Invalid", "CacheHits", "CacheMisses", "RedisErrors", "RedisTime",
                   "RedisRetries", "RedisReconnects", "AuthRefreshes"},
}

# What the operator's dashboard must show (issues 9 and 10).
DASHBOARD_MUST_SHOW = {
    ("AWS/ElastiCache", name) for name in ("EngineCPUUtilization", "DatabaseMemoryUsagePercentage", "NetworkBytesIn",
                                           "NetworkBytesOut", "CacheHits", "CacheMisses", "CacheHitRate", "Evictions",
                                           "CurrConnections")
} | {
    ("PriceCache", name) for name in ("RecordsWritten", "StaleSkipped", "Invalid", "RedisErrors", "RedisTime",
                                      "RedisRetries", "RedisReconnects", "AuthRefreshes")
} | {("AWS/Lambda", name) for name in ("Duration", "Errors", "Throttles", "IteratorAge")}


def load(path):
    return cfn_yaml.load(path)


def findings(template):
    """Every finding for a loaded template, as 'Resource.Property: message' lines."""
    found = []
    resources = template.get("Resources", {})
    for name, resource in resources.items():
        if resource.get("Type") == REPLICATION_GROUP:
            found += replication_group_findings(name, resource.get("Properties", {}), template)
    found += function_findings(template)
    found += rbac_user_findings(template)
    found += rotation_findings(template)
    expanded = expand(template)
    found += policy_findings(expanded)
    found += alarm_topic_findings(expanded)
    found += log_group_findings(expanded)
    found += metric_findings(expanded)
    return found


def access_string():
    """The functions' access string: the one line of deploy/redis-functions.acl that is neither
    empty nor a comment."""
    with open(ACCESS_STRING_FILE, encoding="utf-8") as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.strip().startswith("#")]
    if len(lines) != 1:
        raise ValueError(f"{ACCESS_STRING_FILE} must hold exactly one access string line, found {len(lines)}")
    return lines[0]


# --- Replication group ------------------------------------------------------------------------

def replication_group_findings(name, properties, template):
    found = []
    if properties.get("TransitEncryptionEnabled") not in (True, "true"):
        reason = "AuthToken needs it (ElastiCache refuses an AUTH token without TLS)" if "AuthToken" in properties \
            else "the cache must be reached over TLS only"
        found.append(f"{name}.TransitEncryptionEnabled: must be true: {reason}")
    if properties.get("AtRestEncryptionEnabled") not in (True, "true"):
        found.append(f"{name}.AtRestEncryptionEnabled: must be true")
    if "UserGroupIds" in properties:
        if "AuthToken" in properties:
            found.append(f"{name}.AuthToken: remove it: with UserGroupIds (RBAC) the users' passwords authenticate")
        found += [f"{name}.UserGroupIds: {problem}" for problem in user_group_problems(properties["UserGroupIds"], template)]
    elif "AuthToken" not in properties:
        found.append(f"{name}.AuthToken: missing (and no UserGroupIds): the cache would accept any client that reaches it")
    else:
        found += [f"{name}.AuthToken: {problem}" for problem in auth_token_problems(properties["AuthToken"], template)]
    found += [f"{name}.{problem}" for problem in failover_problems(properties, template)]
    found += [f"{name}.EngineVersion: {problem}" for problem in engine_problems(properties, template)]
    found += [f"{name}.SecurityGroupIds: {problem}" for problem in ingress_problems(properties, template)]
    return found


def auth_token_problems(token, template):
    if isinstance(token, str):
        if token.startswith("{{resolve:"):
            return dynamic_reference_problems(token, {}, template)
        rule_problems = literal_token_problems(token)
        if rule_problems:
            return ["the literal token breaks ElastiCache's rules: " + "; ".join(rule_problems)]
        return ["a literal token is a secret in source control: use a Secrets Manager dynamic reference"]
    if isinstance(token, dict) and "Fn::Sub" in token:
        sub = token["Fn::Sub"]
        text, variables = (sub, {}) if isinstance(sub, str) else (sub[0], sub[1] if len(sub) > 1 else {})
        return dynamic_reference_problems(text, variables, template)
    if isinstance(token, dict) and "Ref" in token:
        return parameter_token_problems(token["Ref"], template)
    return ["must be a {{resolve:secretsmanager:...}} dynamic reference"]


def literal_token_problems(token):
    problems = []
    if not TOKEN_MIN_LENGTH <= len(token) <= TOKEN_MAX_LENGTH:
        problems.append(f"{len(token)} characters, not {TOKEN_MIN_LENGTH} to {TOKEN_MAX_LENGTH}")
    bad = sorted({c for c in token if c in FORBIDDEN_PUNCTUATION or not (c.isascii() and c.isprintable()) or c == " "})
    if bad:
        problems.append("characters not allowed: " + " ".join(repr(c) for c in bad))
    return problems


def dynamic_reference_problems(text, variables, template):
    """`{{resolve:secretsmanager:secret-id[:SecretString[:json-key[:version-stage[:version-id]]]]}}`,
    where secret-id is a name or a full ARN (which itself holds six colons)."""
    match = re.fullmatch(r"\{\{resolve:secretsmanager:(.+)\}\}", text)
    if not match:
        return [f"'{text}' is not a {{{{resolve:secretsmanager:...}}}} dynamic reference"]
    placeholders = re.findall(r"\$\{([^}!][^}]*)\}", match.group(1))
    parts = re.sub(r"\$\{[^}!][^}]*\}", PLACEHOLDER_ARN, match.group(1)).split(":")
    secret_id, rest = (parts[:7], parts[7:]) if parts[0] == "arn" else (parts[:1], parts[1:])
    if not all(secret_id) or (parts[0] == "arn" and len(secret_id) < 7):
        return [f"'{text}' names no secret"]
    if rest and rest[0] != "SecretString":
        return [f"'{text}': the second segment must be SecretString, not '{rest[0]}'"]
    if len(rest) > 4:
        return [f"'{text}' has too many segments"]
    json_key = rest[1] if len(rest) > 1 else ""
    problems = []
    for placeholder in placeholders:
        target = variables.get(placeholder) if isinstance(variables, dict) else None
        resource_name = placeholder if target is None else (target.get("Ref") if isinstance(target, dict) else None)
        secret = template.get("Resources", {}).get(resource_name or "", {})
        if secret.get("Type") == SECRET:
            problems += [f"secret {resource_name}: {p}" for p in generated_secret_problems(secret.get("Properties", {}), json_key)]
    return problems


def generated_secret_problems(properties, json_key):
    """Whether the secret the token comes from can only hold tokens ElastiCache accepts."""
    if "SecretString" in properties:
        return ["SecretString is written in the template: let GenerateSecretString make the token"]
    generate = properties.get("GenerateSecretString")
    if not isinstance(generate, dict):
        return ["has no GenerateSecretString: nothing guarantees a valid token"]
    problems = []
    length = generate.get("PasswordLength", DEFAULT_GENERATED_LENGTH)
    if isinstance(length, (int, str)) and str(length).isdigit() and not TOKEN_MIN_LENGTH <= int(length) <= TOKEN_MAX_LENGTH:
        problems.append(f"PasswordLength {length} is outside {TOKEN_MIN_LENGTH} to {TOKEN_MAX_LENGTH}")
    if generate.get("ExcludePunctuation") not in (True, "true"):
        still_allowed = FORBIDDEN_PUNCTUATION - set(str(generate.get("ExcludeCharacters", "")))
        if still_allowed:
            problems.append("can generate punctuation ElastiCache refuses (" + "".join(sorted(still_allowed)) +
                            "): set ExcludePunctuation: true or exclude them")
    if generate.get("IncludeSpace") in (True, "true"):
        problems.append("IncludeSpace: a space is not allowed in a token")
    template_key = generate.get("GenerateStringKey")
    if template_key and json_key != template_key:
        problems.append(f"holds JSON: the reference must select the key '{template_key}'")
    if not template_key and json_key:
        problems.append(f"holds a plain string: the reference must not select a JSON key ('{json_key}')")
    return problems


def parameter_token_problems(name, template):
    parameter = template.get("Parameters", {}).get(name)
    if parameter is None:
        return [f"refers to '{name}', which is not a parameter: use a Secrets Manager dynamic reference"]
    problems = []
    if parameter.get("NoEcho") not in (True, "true"):
        problems.append(f"parameter {name} must have NoEcho: true")
    if int(parameter.get("MinLength", 0)) < TOKEN_MIN_LENGTH or int(parameter.get("MaxLength", 10**6)) > TOKEN_MAX_LENGTH:
        problems.append(f"parameter {name} must have MinLength {TOKEN_MIN_LENGTH} and MaxLength {TOKEN_MAX_LENGTH}")
    return problems


# --- Failover ---------------------------------------------------------------------------------

def failover_problems(properties, template):
    """Automatic failover needs a replica to promote, Multi-AZ needs automatic failover; both
    must be off whenever the group can have a single node."""
    failover = switch_state(properties.get("AutomaticFailoverEnabled", False))
    multi_az = switch_state(properties.get("MultiAZEnabled", False))
    problems = []
    for prop, state in (("AutomaticFailoverEnabled", failover), ("MultiAZEnabled", multi_az)):
        if state == "unknown":
            problems.append(f"{prop}: must be true, false or !If [Condition, true, false]")
            continue
        if state == "off":
            continue
        single_node = single_node_condition(properties, template, state)
        if single_node:
            problems.append(f"{prop}: can be on with a single node ({single_node})")
    if multi_az not in ("off", "unknown") and failover != multi_az and failover != "on":
        problems.append("MultiAZEnabled: needs AutomaticFailoverEnabled under the same condition")
    return problems


def switch_state(value):
    """'on', 'off', ('if', condition) or 'unknown'."""
    if value in (True, "true"):
        return "on"
    if value in (False, "false"):
        return "off"
    if isinstance(value, dict) and "Fn::If" in value:
        condition, when_true, when_false = value["Fn::If"]
        if when_true in (True, "true") and when_false in (False, "false"):
            return ("if", condition)
    return "unknown"


def single_node_condition(properties, template, state):
    """Why the switch in `state` can be on while the group has one node, or None."""
    if properties.get("NumCacheClusters") in (1, "1"):
        return "NumCacheClusters is 1"
    replicas = properties.get("ReplicasPerNodeGroup", 0)
    if isinstance(replicas, (int, str)) and str(replicas).isdigit():
        return "ReplicasPerNodeGroup is 0" if int(replicas) == 0 else None
    if not (isinstance(replicas, dict) and "Ref" in replicas):
        return "ReplicasPerNodeGroup is neither a number nor a parameter"
    parameter_name = replicas["Ref"]
    minimum = int(template.get("Parameters", {}).get(parameter_name, {}).get("MinValue", 0))
    if minimum >= 1:
        return None
    if state == "on":
        return f"parameter {parameter_name} may be 0"
    condition_name = state[1]
    condition = template.get("Conditions", {}).get(condition_name)
    if not is_nonzero_condition(condition, parameter_name):
        return f"condition {condition_name} is not !Not [!Equals [!Ref {parameter_name}, 0]]"
    return None


def is_nonzero_condition(condition, parameter_name):
    if not (isinstance(condition, dict) and "Fn::Not" in condition):
        return False
    inner = condition["Fn::Not"][0]
    if not (isinstance(inner, dict) and "Fn::Equals" in inner):
        return False
    left, right = inner["Fn::Equals"]
    return {"Ref": parameter_name} in (left, right) and (0 in (left, right) or "0" in (left, right))


# --- Engine and network -----------------------------------------------------------------------

def engine_problems(properties, template):
    if properties.get("Engine", "redis") not in ("redis", "valkey"):
        return [f"engine {properties.get('Engine')} is not Redis"]
    version = properties.get("EngineVersion")
    if isinstance(version, dict) and "Ref" in version:
        parameter = template.get("Parameters", {}).get(version["Ref"], {})
        candidates = [parameter.get("Default")] + list(parameter.get("AllowedValues", []))
        if "AllowedValues" not in parameter:
            return [f"parameter {version['Ref']} must list its AllowedValues (Redis 7.x only)"]
    else:
        candidates = [version]
    return [f"'{c}' is not Redis 7.x" for c in candidates if c is not None and not str(c).startswith("7.")]


def ingress_problems(properties, template):
    """The cache's security groups must admit the Redis port only from other security groups."""
    resources = template.get("Resources", {})
    group_names = {g["Ref"] for g in properties.get("SecurityGroupIds", []) if isinstance(g, dict) and "Ref" in g}
    rules = []
    for name in group_names:
        rules += resources.get(name, {}).get("Properties", {}).get("SecurityGroupIngress", [])
    for resource in resources.values():
        if resource.get("Type") == "AWS::EC2::SecurityGroupIngress":
            group = resource.get("Properties", {}).get("GroupId")
            if isinstance(group, dict) and group.get("Ref") in group_names:
                rules.append(resource["Properties"])
    problems = []
    for rule in rules:
        low, high = rule.get("FromPort", 0), rule.get("ToPort", 65535)
        covers_redis = str(rule.get("IpProtocol")) in ("-1", "tcp", "6") and int(low) <= REDIS_PORT <= int(high)
        opened_to = rule.get("CidrIp") or rule.get("CidrIpv6") or rule.get("SourcePrefixListId")
        if covers_redis and opened_to:
            problems.append(f"port {REDIS_PORT} is open to {opened_to}: admit only the functions' security group")
    return problems


# --- Functions --------------------------------------------------------------------------------

def function_findings(template):
    global_function = template.get("Globals", {}).get("Function", {})
    global_variables = global_function.get("Environment", {}).get("Variables", {})
    found = []
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != FUNCTION:
            continue
        properties = resource.get("Properties", {})
        variables = dict(global_variables, **properties.get("Environment", {}).get("Variables", {}))
        if "REDIS_ENDPOINT" not in variables:
            continue
        if "REDIS_AUTH_TOKEN" in variables:
            found.append(f"{name}.Environment: REDIS_AUTH_TOKEN puts the token in the function's configuration in "
                         "plain text: set REDIS_AUTH_SECRET_ARN")
        if "REDIS_AUTH_SECRET_ARN" not in variables:
            found.append(f"{name}.Environment: REDIS_AUTH_SECRET_ARN is missing: the function cannot authenticate")
        if str(variables.get("REDIS_SSL", "true")).lower() != "true":
            found.append(f"{name}.Environment: REDIS_SSL must be true (the cache only speaks TLS)")
        layers = properties.get("Layers", global_function.get("Layers", []))
        if "REDIS_AUTH_SECRET_ARN" in variables and not layers:
            found.append(f"{name}.Layers: the Parameters and Secrets extension layer is missing: nothing serves the secret")
    return found



# --- RBAC -------------------------------------------------------------------------------------

def user_group_problems(group_ids, template):
    """Each user group must hold a `default` user that can do nothing, and its other users the
    functions' access string."""
    resources = template.get("Resources", {})
    problems = []
    for group_id in group_ids if isinstance(group_ids, list) else []:
        group_name = group_id.get("Ref") if isinstance(group_id, dict) else None
        group = resources.get(group_name or "", {})
        if group.get("Type") != "AWS::ElastiCache::UserGroup":
            problems.append(f"{group_id} is not an AWS::ElastiCache::UserGroup of this template")
            continue
        users = [resources.get(u.get("Ref", "") if isinstance(u, dict) else "", {}) for u in group.get("Properties", {}).get("UserIds", [])]
        defaults = [u for u in users if u.get("Properties", {}).get("UserName") == "default"]
        if not defaults:
            problems.append(f"user group {group_name} has no user named default (ElastiCache requires one)")
        for user in defaults:
            if grants_anything(user.get("Properties", {}).get("AccessString", "")):
                problems.append(f"user group {group_name}: the default user can run commands; give it 'off -@all'")
    return problems


def grants_anything(access):
    words = str(access).split()
    if "off" in words:
        return False
    return any(word.startswith(("+", "~", "%", "&", "allcommands", "allkeys")) for word in words)


def rbac_user_findings(template):
    """The functions' users (every ElastiCache user not named default) hold exactly the access
    string of deploy/redis-functions.acl, and the functions log in as one of them."""
    expected = access_string()
    found = []
    names = set()
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::ElastiCache::User":
            continue
        properties = resource.get("Properties", {})
        if properties.get("UserName") == "default":
            continue
        names.add(properties.get("UserName"))
        if properties.get("AccessString") != expected:
            found.append(f"{name}.AccessString: differs from deploy/redis-functions.acl ({expected!r}), which the Swift "
                         "suite enforces on a real redis-server")
    if names:
        variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        if variables.get("REDIS_USERNAME") not in names:
            found.append(f"Globals.Function.Environment: REDIS_USERNAME must be the functions' ElastiCache user ({', '.join(sorted(map(str, names)))})")
    return found


# --- Rotation ---------------------------------------------------------------------------------

# The functions re-read the secret at most once per this many seconds after WRONGPASS.
SECRET_REREAD_INTERVAL_SECONDS = 10


def rotation_findings(template):
    """The functions' secret holds what Secrets Manager's ElastiCache rotation expects
    ({"username","password","user_arn"}), a schedule rotates it, and the extension's cache lets a
    re-read after a rotation see the new password."""
    resources = template.get("Resources", {})
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    reference = variables.get("REDIS_AUTH_SECRET_ARN")
    secret_name = reference.get("Ref") if isinstance(reference, dict) else None
    secret = resources.get(secret_name or "", {})
    users = [r["Properties"] for r in resources.values()
             if r.get("Type") == "AWS::ElastiCache::User" and r.get("Properties", {}).get("UserName") != "default"]
    if not users or secret.get("Type") != SECRET:
        return []
    found = []
    generate = secret.get("Properties", {}).get("GenerateSecretString", {})
    text = generate.get("SecretStringTemplate", "")
    if isinstance(text, dict) and "Fn::Sub" in text:
        sub = text["Fn::Sub"]
        text = sub if isinstance(sub, str) else sub[0]
    try:
        document = json.loads(re.sub(r"\$\{[^}]*\}", "x", str(text)))
    except ValueError:
        document = None
    if not isinstance(document, dict) or generate.get("GenerateStringKey") != "password" \
            or set(document) != {"username", "user_arn"}:
        found.append(f"{secret_name}.GenerateSecretString: must make the JSON Secrets Manager documents for ElastiCache "
                     'users, {"username","password","user_arn"} (SecretStringTemplate with username and user_arn, '
                     "GenerateStringKey password)")
    elif document["username"] not in {u.get("UserName") for u in users}:
        found.append(f"{secret_name}: username {document['username']!r} is not the functions' ElastiCache user")
    schedules = [r.get("Properties", {}) for r in resources.values()
                 if r.get("Type") == "AWS::SecretsManager::RotationSchedule"
                 and r.get("Properties", {}).get("SecretId") == {"Ref": secret_name}]
    if not schedules:
        found.append(f"{secret_name}: no AWS::SecretsManager::RotationSchedule rotates it")
    ttl = str(variables.get("SECRETS_MANAGER_TTL", "300"))
    if not ttl.isdigit() or int(ttl) >= SECRET_REREAD_INTERVAL_SECONDS:
        found.append(f"Globals.Function.Environment: SECRETS_MANAGER_TTL is {ttl} s (300 when unset): the extension would "
                     f"answer a re-read after a rotation with the old password; keep it under {SECRET_REREAD_INTERVAL_SECONDS}")
    return found


# --- The expanded template ----------------------------------------------------------------------

def expand(template):
    """The plain CloudFormation aws-sam-translator makes of the template, offline: local code
    paths become placeholder S3 locations and managed policies come from the translator's own list."""
    from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    sam = copy.deepcopy(template)
    for resource in sam.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(resource.get("Properties", {}).get("CodeUri"), str):
            resource["Properties"]["CodeUri"] = "s3://placeholder-bucket/" + os.path.basename(resource["Properties"]["CodeUri"].rstrip("/"))
    sam = json.loads(json.dumps(sam, default=str))
    translator = Translator(managed_policy_map=get_bundled_managed_policy_map("aws"), sam_parser=Parser())
    return translator.translate(sam_template=sam, parameter_values={}, passthrough_metadata=True)


def function_roles(expanded):
    resources = expanded.get("Resources", {})
    roles = {}
    for name, resource in resources.items():
        if resource.get("Type") == "AWS::Lambda::Function":
            role = resource.get("Properties", {}).get("Role")
            if isinstance(role, dict) and "Fn::GetAtt" in role:
                roles.setdefault(role["Fn::GetAtt"][0], []).append(name)
    return roles


def as_list(value):
    return value if isinstance(value, list) else [value]


def policy_findings(expanded):
    resources = expanded.get("Resources", {})
    found = []
    for role_name, functions in function_roles(expanded).items():
        role = resources.get(role_name, {}).get("Properties", {})
        if role.get("ManagedPolicyArns"):
            found.append(f"{role_name}.ManagedPolicyArns: {', '.join(map(str, role['ManagedPolicyArns']))} on the role of "
                         f"{', '.join(functions)}: managed policies grant Resource \"*\"; write statements naming this stack's resources")
        documents = [(policy.get("PolicyName"), policy.get("PolicyDocument", {})) for policy in role.get("Policies", [])]
        for name, resource in resources.items():
            if resource.get("Type") == "AWS::IAM::Policy" and {"Ref": role_name} in as_list(resource["Properties"].get("Roles", [])):
                documents.append((name, resource["Properties"].get("PolicyDocument", {})))
        for policy_name, document in documents:
            for statement in as_list(document.get("Statement", [])):
                if statement.get("Effect") != "Allow" or "*" not in as_list(statement.get("Resource", [])):
                    continue
                extra = [a for a in as_list(statement.get("Action", [])) if a not in WILDCARD_ACTIONS_AWS_REQUIRES]
                if extra:
                    found.append(f"{role_name} ({policy_name}): {', '.join(map(str, extra))} on Resource \"*\" "
                                 f"(role of {', '.join(functions)}): name this stack's resources")
    return found


def alarm_topic_findings(expanded):
    """Every alarm action goes to a topic of this template that CloudWatch can publish to: not
    encrypted, or encrypted with a key of this template whose policy lets cloudwatch.amazonaws.com
    use it."""
    resources = expanded.get("Resources", {})
    found = []
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        properties = resource.get("Properties", {})
        actions = as_list(properties.get("AlarmActions", [])) + as_list(properties.get("OKActions", []))
        if not properties.get("AlarmActions"):
            found.append(f"{name}.AlarmActions: the alarm notifies nobody")
        for action in actions:
            topic_name = action.get("Ref") if isinstance(action, dict) else None
            topic = resources.get(topic_name or "", {})
            if topic.get("Type") != "AWS::SNS::Topic":
                found.append(f"{name}: action {action} is not a topic of this template")
                continue
            problem = topic_key_problem(topic.get("Properties", {}).get("KmsMasterKeyId"), resources)
            if problem:
                found.append(f"{name}: topic {topic_name} {problem}")
    return sorted(set(found))


def topic_key_problem(key, resources):
    if key is None:
        return None
    key_name = key.get("Ref") if isinstance(key, dict) else (key["Fn::GetAtt"][0] if isinstance(key, dict) and "Fn::GetAtt" in key else None)
    if isinstance(key, dict) and "Fn::GetAtt" in key:
        key_name = key["Fn::GetAtt"][0]
    resource = resources.get(key_name or "", {})
    if resource.get("Type") != "AWS::KMS::Key":
        return (f"is encrypted with {key}, whose key policy CloudWatch alarms cannot use (alias/aws/sns cannot be edited): "
                "use a key of this stack that allows cloudwatch.amazonaws.com, or no encryption")
    needed = {"kms:Decrypt", "kms:GenerateDataKey*"}
    for statement in as_list(resource.get("Properties", {}).get("KeyPolicy", {}).get("Statement", [])):
        principal = statement.get("Principal", {})
        services = as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
        if statement.get("Effect") == "Allow" and "cloudwatch.amazonaws.com" in services:
            actions = set(as_list(statement.get("Action", [])))
            if "kms:*" in actions or needed <= actions:
                return None
    return f"is encrypted with {key_name}, whose key policy does not allow cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*"


def log_group_findings(expanded):
    resources = expanded.get("Resources", {})
    found = []

    def retention_problem(reference):
        name = reference.get("Ref") if isinstance(reference, dict) else None
        if isinstance(reference, dict) and "Fn::GetAtt" in reference:
            name = reference["Fn::GetAtt"][0]
        group = resources.get(name or "", {})
        if group.get("Type") != "AWS::Logs::LogGroup":
            return f"{reference} is not a log group of this template"
        if "RetentionInDays" not in group.get("Properties", {}):
            return f"log group {name} has no RetentionInDays (its events would be kept forever)"
        return None

    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Lambda::Function":
            log_group = properties.get("LoggingConfig", {}).get("LogGroup")
            if log_group is None:
                found.append(f"{name}.LoggingConfig.LogGroup: missing: Lambda would create a group that never expires")
            elif retention_problem(log_group):
                found.append(f"{name}.LoggingConfig.LogGroup: {retention_problem(log_group)}")
        if resource.get("Type") == "AWS::ApiGatewayV2::Stage":
            destination = properties.get("AccessLogSettings", {}).get("DestinationArn")
            if destination is None:
                found.append(f"{name}.AccessLogSettings: missing: the HTTP API keeps no access log")
            elif retention_problem(destination):
                found.append(f"{name}.AccessLogSettings: {retention_problem(destination)}")
    return found


def metric_findings(expanded):
    resources = expanded.get("Resources", {})
    found = []
    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::CloudWatch::Alarm":
            named = [(properties.get("Namespace"), properties.get("MetricName"))] if "MetricName" in properties else []
            for metric in properties.get("Metrics", []):
                if isinstance(metric, dict) and "Fn::If" in metric:
                    metric = metric["Fn::If"][1]
                stat = metric.get("MetricStat", {}).get("Metric", {})
                if stat:
                    named.append((stat.get("Namespace"), stat.get("MetricName")))
            found += [f"{name}: {problem}" for problem in unknown_metrics(named)]
        if resource.get("Type") == "AWS::CloudWatch::Dashboard":
            shown = dashboard_metrics(properties.get("DashboardBody"))
            found += [f"{name}: {problem}" for problem in unknown_metrics(shown)]
            for namespace, metric in sorted(DASHBOARD_MUST_SHOW - set(shown)):
                found.append(f"{name}: does not show {namespace} {metric}")
    return found


def unknown_metrics(named):
    return [f"metric {namespace} {metric} does not exist" for namespace, metric in named
            if metric not in KNOWN_METRICS.get(namespace, set())]


def dashboard_metrics(body):
    """(namespace, name) of every metric of every widget: listed ones ([namespace, name, ...]) and
    the SEARCH expressions' ({namespace,dimension} MetricName="name")."""
    text = body.get("Fn::Sub") if isinstance(body, dict) else body
    if isinstance(text, list):
        text = text[0]
    document = json.loads(re.sub(r"\$\{[^}]*\}", "x", text))
    named = []
    for widget in document.get("widgets", []):
        for entry in widget.get("properties", {}).get("metrics", []):
            for item in entry if isinstance(entry, list) else [entry]:
                if isinstance(item, dict) and "expression" in item:
                    for namespace, metric in re.findall(r"\{([^,}]+)[^}]*\}\s*MetricName=\"([^\"]+)\"", item["expression"]):
                        named.append((namespace, metric))
            if isinstance(entry, list) and len(entry) >= 2 and all(isinstance(x, str) for x in entry[:2]):
                named.append((entry[0], entry[1]))
    return named


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "template.yaml")
    found = findings(load(path))
    for finding in found:
        print(f"{os.path.basename(path)}: {finding}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
