#!/usr/bin/env python3
"""Tests of scripts/template_checks.py: the real template passes; variants of it with one
mistake each, made on the fly, are refused with a finding that names the mistake. Two variants
are also run through cfn-lint, which must let them pass: that is why template_checks.py exists.

    python -m unittest scripts/test_template_checks.py   (run by scripts/lint-template.sh)
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import template_checks  # noqa: E402

TEMPLATE_PATH = os.path.join(os.path.dirname(__file__), "..", "template.yaml")
TEMPLATE = template_checks.load(TEMPLATE_PATH)
# The cfn-lint installed with the Python running these tests (the pinned one in .tools/venv).
CFN_LINT = os.path.join(os.path.dirname(sys.executable), "cfn-lint")
if not os.path.exists(CFN_LINT):
    CFN_LINT = shutil.which("cfn-lint") or "cfn-lint"


def variant(change):
    """A deep copy of the template with `change(resources, template)` applied."""
    template = copy.deepcopy(TEMPLATE)
    change(template["Resources"], template)
    return template


def group(resources):
    return resources["RedisReplicationGroup"]["Properties"]


def token_group(resources):
    """The replication group switched from RBAC to a single AUTH token from a generated secret
    (the stack before RBAC), for the token checks."""
    properties = group(resources)
    properties.pop("UserGroupIds")
    resources["RedisAuthTokenSecret"] = {"Type": "AWS::SecretsManager::Secret", "Properties": {
        "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True}}}
    properties["AuthToken"] = {"Fn::Sub": "{{resolve:secretsmanager:${RedisAuthTokenSecret}:SecretString}}"}
    return properties


def statements(resources, role):
    return resources[role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


class TemplatePasses(unittest.TestCase):
    def test_the_template_has_no_finding(self):
        self.assertEqual(template_checks.findings(TEMPLATE), [])

    def test_the_cache_alarms_are_what_their_generator_writes(self):
        import cache_alarms
        with open(TEMPLATE_PATH, encoding="utf-8") as handle:
            text = handle.read()
        self.assertEqual(cache_alarms.replace_in(text), text, "run scripts/cache_alarms.py --write")


class RefusedVariants(unittest.TestCase):
    def assertRefused(self, change, *expected_words):
        found = template_checks.findings(variant(change))
        self.assertTrue(found, "the variant was accepted")
        text = "\n".join(found)
        for word in expected_words:
            self.assertIn(word, text)

    def test_the_token_variant_itself_passes(self):
        self.assertEqual(template_checks.findings(variant(lambda r, t: token_group(r))), [])

    def test_token_without_transit_encryption(self):
        self.assertRefused(lambda r, t: token_group(r).pop("TransitEncryptionEnabled"), "TransitEncryptionEnabled", "AuthToken needs it")

    def test_token_with_transit_encryption_off(self):
        self.assertRefused(lambda r, t: token_group(r).update(TransitEncryptionEnabled=False), "TransitEncryptionEnabled")

    def test_at_rest_encryption_off(self):
        self.assertRefused(lambda r, t: group(r).update(AtRestEncryptionEnabled="false"), "AtRestEncryptionEnabled")

    def test_no_token(self):
        self.assertRefused(lambda r, t: token_group(r).pop("AuthToken"), "AuthToken: missing")

    def test_neither_token_nor_user_group(self):
        self.assertRefused(lambda r, t: group(r).pop("UserGroupIds"), "AuthToken: missing (and no UserGroupIds)")

    def test_literal_token_too_short(self):
        self.assertRefused(lambda r, t: token_group(r).update(AuthToken="short-token"), "breaks ElastiCache's rules", "11 characters")

    def test_literal_token_with_forbidden_characters(self):
        self.assertRefused(lambda r, t: token_group(r).update(AuthToken="a" * 20 + "@/ x"), "characters not allowed", "'@'", "'/'", "' '")

    def test_literal_token_too_long(self):
        self.assertRefused(lambda r, t: token_group(r).update(AuthToken="a" * 129), "129 characters")

    def test_valid_literal_token_is_still_a_committed_secret(self):
        self.assertRefused(lambda r, t: token_group(r).update(AuthToken="Abcdefgh12345678!&#"), "secret in source control")

    def test_dynamic_reference_without_secret(self):
        self.assertRefused(lambda r, t: token_group(r).update(AuthToken="{{resolve:secretsmanager::SecretString}}"), "names no secret")

    def test_dynamic_reference_to_a_binary_secret(self):
        self.assertRefused(lambda r, t: token_group(r).update(AuthToken={"Fn::Sub": "{{resolve:secretsmanager:${RedisAuthTokenSecret}:SecretBinary}}"}),
                           "must be SecretString")

    def test_ssm_parameter_instead_of_secret(self):
        self.assertRefused(lambda r, t: token_group(r).update(AuthToken="{{resolve:ssm:/cache/token}}"), "not a {{resolve:secretsmanager")

    def test_plain_reference_to_the_secret_resource(self):
        self.assertRefused(lambda r, t: token_group(r).update(AuthToken={"Ref": "RedisAuthTokenSecret"}), "not a parameter")

    def test_generated_token_too_short(self):
        self.assertRefused(lambda r, t: (token_group(r), r["RedisAuthTokenSecret"])[1]["Properties"]["GenerateSecretString"].update(PasswordLength=8),
                           "PasswordLength 8")

    def test_generated_token_with_forbidden_punctuation(self):
        self.assertRefused(lambda r, t: (token_group(r), r["RedisAuthTokenSecret"])[1]["Properties"]["GenerateSecretString"].pop("ExcludePunctuation"),
                           "punctuation ElastiCache refuses")

    def test_json_secret_read_without_its_key(self):
        def change(r, t):
            token_group(r)
            r["RedisAuthTokenSecret"]["Properties"]["GenerateSecretString"].update(
                SecretStringTemplate='{"username":"default"}', GenerateStringKey="password")
        self.assertRefused(change, "must select the key 'password'")

    def test_failover_with_one_node(self):
        def change(r, t):
            group(r).update(AutomaticFailoverEnabled=True, MultiAZEnabled=False, ReplicasPerNodeGroup=0)
        self.assertRefused(change, "AutomaticFailoverEnabled: can be on with a single node", "ReplicasPerNodeGroup is 0")

    def test_failover_always_on_while_replicas_may_be_zero(self):
        self.assertRefused(lambda r, t: group(r).update(AutomaticFailoverEnabled=True), "parameter ReplicaCount may be 0")

    def test_failover_gated_on_the_wrong_condition(self):
        self.assertRefused(lambda r, t: group(r).update(AutomaticFailoverEnabled={"Fn::If": ["IsProduction", True, False]}),
                           "condition IsProduction is not")

    def test_multi_az_without_failover(self):
        def change(r, t):
            group(r).update(AutomaticFailoverEnabled=False, MultiAZEnabled={"Fn::If": ["HasReplicas", True, False]})
        self.assertRefused(change, "MultiAZEnabled: needs AutomaticFailoverEnabled")

    def test_engine_6(self):
        self.assertRefused(lambda r, t: t["Parameters"]["RedisEngineVersion"].update(AllowedValues=["6.2", "7.1"]), "'6.2' is not Redis 7.x")

    def test_cache_port_open_to_the_internet(self):
        def change(r, t):
            r["CacheSecurityGroup"]["Properties"]["SecurityGroupIngress"] = [
                {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "CidrIp": "0.0.0.0/0"}]
        self.assertRefused(change, "open to 0.0.0.0/0")

    def test_token_in_the_functions_environment(self):
        self.assertRefused(lambda r, t: t["Globals"]["Function"]["Environment"]["Variables"].update(REDIS_AUTH_TOKEN="x" * 32),
                           "REDIS_AUTH_TOKEN puts the token")

    def test_functions_without_tls(self):
        self.assertRefused(lambda r, t: t["Globals"]["Function"]["Environment"]["Variables"].update(REDIS_SSL="false"),
                           "REDIS_SSL must be true")

    def test_functions_without_the_extension_layer(self):
        self.assertRefused(lambda r, t: t["Globals"]["Function"].pop("Layers"), "extension layer is missing")


    # --- RBAC ---------------------------------------------------------------------------------
    def test_functions_access_string_differs_from_the_acl_file(self):
        def change(r, t):
            r["RedisFunctionsUser"]["Properties"]["AccessString"] += " +keys"
        self.assertRefused(change, "RedisFunctionsUser.AccessString: differs from deploy/redis-functions.acl")

    def test_default_user_with_access(self):
        self.assertRefused(lambda r, t: r["RedisDefaultUser"]["Properties"].update(AccessString="on ~* +@all"),
                           "the default user can run commands")

    def test_user_group_without_default_user(self):
        self.assertRefused(lambda r, t: r["RedisUserGroup"]["Properties"].update(UserIds=[{"Ref": "RedisFunctionsUser"}]),
                           "has no user named default")

    def test_token_and_user_group_together(self):
        def change(r, t):
            group(r)["AuthToken"] = "{{resolve:secretsmanager:x:SecretString}}"
        self.assertRefused(change, "AuthToken: remove it")

    def test_functions_not_logging_in_as_their_user(self):
        self.assertRefused(lambda r, t: t["Globals"]["Function"]["Environment"]["Variables"].pop("REDIS_USERNAME"),
                           "REDIS_USERNAME must be the functions' ElastiCache user")

    # --- Rotation -------------------------------------------------------------------------------
    def test_secret_holding_a_plain_password(self):
        def change(r, t):
            generate = r["RedisFunctionsUserSecret"]["Properties"]["GenerateSecretString"]
            generate.pop("SecretStringTemplate")
            generate.pop("GenerateStringKey")
        self.assertRefused(change, 'the JSON Secrets Manager documents for ElastiCache users')

    def test_secret_without_user_arn(self):
        def change(r, t):
            r["RedisFunctionsUserSecret"]["Properties"]["GenerateSecretString"]["SecretStringTemplate"] = '{"username":"price-cache-functions"}'
        self.assertRefused(change, "username and user_arn")

    def test_secret_naming_another_user(self):
        def change(r, t):
            sub = r["RedisFunctionsUserSecret"]["Properties"]["GenerateSecretString"]["SecretStringTemplate"]["Fn::Sub"]
            sub[0] = sub[0].replace('"username":"price-cache-functions"', '"username":"default"')
        self.assertRefused(change, "username 'default' is not the functions' ElastiCache user")

    def test_no_rotation_schedule(self):
        self.assertRefused(lambda r, t: r.pop("RedisPasswordRotation"), "no AWS::SecretsManager::RotationSchedule")

    def test_extension_cache_outliving_the_reread_interval(self):
        self.assertRefused(lambda r, t: t["Globals"]["Function"]["Environment"]["Variables"].pop("SECRETS_MANAGER_TTL"),
                           "SECRETS_MANAGER_TTL is 300 s")

    # --- Least privilege (on the expanded template) ----------------------------------------------
    def test_sam_event_policies_are_refused(self):
        def change(r, t):
            r["PriceCacheFunction"]["Properties"].pop("Role")
            r.pop("PriceCacheFunctionRole")  # SAM makes one of that name, with its event policies
        self.assertRefused(change, "ManagedPolicyArns", "AWSLambdaKinesisExecutionRole")

    def test_a_statement_on_every_stream(self):
        def change(r, t):
            statements(r, "PriceCacheFunctionRole")[2]["Resource"] = "*"
        self.assertRefused(change, "kinesis:GetRecords", 'on Resource "*"')

    def test_a_statement_on_every_queue(self):
        def change(r, t):
            statements(r, "SignalFunctionRole")[2]["Resource"] = "*"
        self.assertRefused(change, "sqs:ReceiveMessage", 'on Resource "*"')

    # --- Alarms, logs, metrics --------------------------------------------------------------------
    def test_alarm_topic_with_the_aws_managed_key(self):
        self.assertRefused(lambda r, t: r["AlarmTopic"]["Properties"].update(KmsMasterKeyId="alias/aws/sns"),
                           "topic AlarmTopic is encrypted with alias/aws/sns")

    def test_alarm_topic_key_without_cloudwatch(self):
        def change(r, t):
            r["AlarmTopicKey"]["Properties"]["KeyPolicy"]["Statement"].pop()
        self.assertRefused(change, "does not allow cloudwatch.amazonaws.com")

    def test_an_unencrypted_topic_is_accepted(self):
        self.assertEqual(template_checks.findings(variant(lambda r, t: r["AlarmTopic"].pop("Properties"))), [])

    def test_function_without_its_log_group(self):
        self.assertRefused(lambda r, t: r["SignalFunction"]["Properties"].pop("LoggingConfig"), "SignalFunction.LoggingConfig.LogGroup: missing")

    def test_log_group_without_retention(self):
        self.assertRefused(lambda r, t: r["RotationFunctionLogGroup"].pop("Properties"), "RotationFunctionLogGroup has no RetentionInDays")

    def test_http_api_without_access_logs(self):
        self.assertRefused(lambda r, t: r["CacheApiStage"]["Properties"].pop("AccessLogSettings"), "the HTTP API keeps no access log")

    def test_dashboard_naming_a_metric_that_does_not_exist(self):
        def change(r, t):
            body = r["CacheDashboard"]["Properties"]["DashboardBody"]
            body["Fn::Sub"] = body["Fn::Sub"].replace('"RedisRetries"', '"RedisRetry"')
        self.assertRefused(change, "metric PriceCache RedisRetry does not exist", "does not show PriceCache RedisRetries")

    def test_dashboard_missing_a_cache_metric(self):
        def change(r, t):
            body = r["CacheDashboard"]["Properties"]["DashboardBody"]
            body["Fn::Sub"] = body["Fn::Sub"].replace('MetricName=\\"DatabaseMemoryUsagePercentage\\"', 'MetricName=\\"CurrItems\\"')
        self.assertRefused(change, "does not show AWS/ElastiCache DatabaseMemoryUsagePercentage")

    def test_alarm_on_a_metric_that_does_not_exist(self):
        self.assertRefused(lambda r, t: r["PriceStreamIteratorAgeAlarm"]["Properties"].update(MetricName="IteratorAgeMilliseconds"),
                           "metric AWS/Lambda IteratorAgeMilliseconds does not exist")

    def test_every_metric_the_functions_emit_is_known_and_on_the_dashboard(self):
        """The EMF line's metric names, read from the Swift source that writes them: a metric
        renamed there (or added without a dashboard widget) fails here."""
        import glob
        import re
        emitted = set()
        for path in glob.glob(os.path.join(os.path.dirname(__file__), "..", "Sources", "HandlerCore", "*.swift")):
            with open(path, encoding="utf-8") as handle:
                # The metric table's (name, unit) pairs, e.g. ("RedisTime", "Milliseconds").
                emitted |= set(re.findall(r'\("([A-Za-z]+)", "(?:Count|Milliseconds|Microseconds|Seconds|Bytes|None)"\)', handle.read()))
        self.assertGreaterEqual(len(emitted), 7, "the EMF metric names were not found in Sources/HandlerCore")
        shown = {name for namespace, name in template_checks.dashboard_metrics(
            TEMPLATE["Resources"]["CacheDashboard"]["Properties"]["DashboardBody"]) if namespace == "PriceCache"}
        self.assertEqual(emitted - template_checks.KNOWN_METRICS["PriceCache"], set())
        self.assertEqual(emitted - shown - {"CacheHits", "CacheMisses"}, set(),
                         "the dashboard shows Redis's own hits and misses; every other emitted metric must be on it")

    def test_the_dashboard_shows_the_client_recovery_metrics(self):
        shown = set(template_checks.dashboard_metrics(TEMPLATE["Resources"]["CacheDashboard"]["Properties"]["DashboardBody"]))
        for metric in ("RedisRetries", "RedisReconnects", "AuthRefreshes"):
            self.assertIn(("PriceCache", metric), shown)

class CfnLintMissesThem(unittest.TestCase):
    """The reason for template_checks.py: the pinned cfn-lint accepts these broken variants."""

    def assertCfnLintAccepts(self, template):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as output:
            json.dump(template, output)
        try:
            result = subprocess.run([CFN_LINT, output.name], capture_output=True, text=True)
        finally:
            os.unlink(output.name)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_cfn_lint_accepts_a_token_without_transit_encryption(self):
        self.assertCfnLintAccepts(variant(lambda r, t: group(r).pop("TransitEncryptionEnabled")))

    def test_cfn_lint_accepts_failover_with_one_node(self):
        self.assertCfnLintAccepts(variant(lambda r, t: group(r).update(AutomaticFailoverEnabled=True, ReplicasPerNodeGroup=0)))


if __name__ == "__main__":
    unittest.main()
