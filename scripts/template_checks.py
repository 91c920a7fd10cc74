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
- a function given the token in plain text, or a Redis endpoint without TLS.

    template_checks.py [TEMPLATE]     (default: template.yaml next to scripts/)

Prints one line per finding and exits 1 when there is any. Needs cfn-lint's YAML loader (the
pinned cfn-lint of scripts/lint-template.sh).
"""
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
    return found


# --- Replication group ------------------------------------------------------------------------

def replication_group_findings(name, properties, template):
    found = []
    if properties.get("TransitEncryptionEnabled") not in (True, "true"):
        reason = "AuthToken needs it (ElastiCache refuses an AUTH token without TLS)" if "AuthToken" in properties \
            else "the cache must be reached over TLS only"
        found.append(f"{name}.TransitEncryptionEnabled: must be true: {reason}")
    if properties.get("AtRestEncryptionEnabled") not in (True, "true"):
        found.append(f"{name}.AtRestEncryptionEnabled: must be true")
    if "AuthToken" not in properties:
        found.append(f"{name}.AuthToken: missing: the cache would accept any client that reaches it")
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


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "template.yaml")
    found = findings(load(path))
    for finding in found:
        print(f"{os.path.basename(path)}: {finding}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
