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


class TemplatePasses(unittest.TestCase):
    def test_the_template_has_no_finding(self):
        self.assertEqual(template_checks.findings(TEMPLATE), [])


class RefusedVariants(unittest.TestCase):
    def assertRefused(self, change, *expected_words):
        found = template_checks.findings(variant(change))
        self.assertTrue(found, "the variant was accepted")
        text = "\n".join(found)
        for word in expected_words:
            self.assertIn(word, text)

    def test_token_without_transit_encryption(self):
        self.assertRefused(lambda r, t: group(r).pop("TransitEncryptionEnabled"), "TransitEncryptionEnabled", "AuthToken needs it")

    def test_token_with_transit_encryption_off(self):
        self.assertRefused(lambda r, t: group(r).update(TransitEncryptionEnabled=False), "TransitEncryptionEnabled")

    def test_at_rest_encryption_off(self):
        self.assertRefused(lambda r, t: group(r).update(AtRestEncryptionEnabled="false"), "AtRestEncryptionEnabled")

    def test_no_token(self):
        self.assertRefused(lambda r, t: group(r).pop("AuthToken"), "AuthToken: missing")

    def test_literal_token_too_short(self):
        self.assertRefused(lambda r, t: group(r).update(AuthToken="short-token"), "breaks ElastiCache's rules", "11 characters")

    def test_literal_token_with_forbidden_characters(self):
        self.assertRefused(lambda r, t: group(r).update(AuthToken="a" * 20 + "@/ x"), "characters not allowed", "'@'", "'/'", "' '")

    def test_literal_token_too_long(self):
        self.assertRefused(lambda r, t: group(r).update(AuthToken="a" * 129), "129 characters")

    def test_valid_literal_token_is_still_a_committed_secret(self):
        self.assertRefused(lambda r, t: group(r).update(AuthToken="Abcdefgh12345678!&#"), "secret in source control")

    def test_dynamic_reference_without_secret(self):
        self.assertRefused(lambda r, t: group(r).update(AuthToken="{{resolve:secretsmanager::SecretString}}"), "names no secret")

    def test_dynamic_reference_to_a_binary_secret(self):
        self.assertRefused(lambda r, t: group(r).update(AuthToken={"Fn::Sub": "{{resolve:secretsmanager:${RedisAuthTokenSecret}:SecretBinary}}"}),
                           "must be SecretString")

    def test_ssm_parameter_instead_of_secret(self):
        self.assertRefused(lambda r, t: group(r).update(AuthToken="{{resolve:ssm:/cache/token}}"), "not a {{resolve:secretsmanager")

    def test_plain_reference_to_the_secret_resource(self):
        self.assertRefused(lambda r, t: group(r).update(AuthToken={"Ref": "RedisAuthTokenSecret"}), "not a parameter")

    def test_generated_token_too_short(self):
        self.assertRefused(lambda r, t: r["RedisAuthTokenSecret"]["Properties"]["GenerateSecretString"].update(PasswordLength=8),
                           "PasswordLength 8")

    def test_generated_token_with_forbidden_punctuation(self):
        self.assertRefused(lambda r, t: r["RedisAuthTokenSecret"]["Properties"]["GenerateSecretString"].pop("ExcludePunctuation"),
                           "punctuation ElastiCache refuses")

    def test_json_secret_read_without_its_key(self):
        def change(r, t):
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
