"""The Terraform half of the security rules: events only from their producers, the application never as the
database master, users from an OIDC issuer (Cognito by default), and rate limits at the edge.

Policies that name ARNs known only after apply are checked on the emulator (test_emulator_apply);
here the production plan, its configuration and the sources show the rest.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.offline_terraform import FIXTURES, OFFLINE_VARS, PROD_ENV, OfflineTerraform, of_type

hcl2 = pytest.importorskip("hcl2", reason="python-hcl2 is installed by scripts/infra_check.sh")


def _parse(name: str) -> dict[str, Any]:
    with (PROD_ENV / name).open() as source:
        return hcl2.load(source, serialization_options=hcl2.SerializationOptions(strip_string_quotes=True))


def _modules(name: str) -> dict[str, dict[str, Any]]:
    return {module: body for block in _parse(name)["module"] for module, body in block.items()}


def _locals(name: str) -> dict[str, Any]:
    return {local: value for block in _parse(name)["locals"] for local, value in block.items()}


def _one(plan: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (resource,) = of_type(plan, resource_type).values()
    return resource["values"]


def _module_call(plan: dict[str, Any], name: str) -> dict[str, Any]:
    return plan["configuration"]["root_module"]["module_calls"][name]["expressions"]


# --- Events only from their producers --------------------------------------------------------------


def test_every_queue_every_dead_letter_queue_and_the_topic_has_a_policy(prod_plan, topology):
    queue_policies = {r["index"] for r in of_type(prod_plan, "aws_sqs_queue_policy").values() if ".only_topic_may_send[" in r["address"]}
    dlq_policies = {r["index"] for r in of_type(prod_plan, "aws_sqs_queue_policy").values() if ".only_consumer_may_dead_letter[" in r["address"]}

    assert queue_policies == dlq_policies == set(topology["queues"])
    events_topic_policies = [a for a in of_type(prod_plan, "aws_sns_topic_policy") if a.startswith("module.messaging.")]
    assert events_topic_policies == ["module.messaging.aws_sns_topic_policy.only_producers_may_publish"]


def test_the_topic_admits_the_roles_of_the_producers_topology_json_declares(prod_plan):
    call = _module_call(prod_plan, "messaging")
    producing_services = _locals("main.tf")["producing_services"]

    assert "local.topology.publishers" in producing_services
    assert set(call["publisher_role_arns"]["references"]) >= {"local.producing_services", "module.iam.task_role_arns"}
    assert set(call["consumer_role_arns"]["references"]) >= {"local.topology.queues", "module.iam.task_role_arns"}
    assert call["operator_role_arns"]["references"] == ["var.operator_role_arns"]


# --- The database ------------------------------------------------------------------------------------


def test_the_app_does_not_connect_as_master():
    modules = _modules("services.tf")
    app_secret = "${module.database.app_user_secret_arn}"
    master_secret = "${module.database.master_user_secret_arn}"

    assert modules["todo_api"]["secrets"] == {
        "DB_USERNAME": {"arn": app_secret, "json_key": "username"},
        "DB_PASSWORD": {"arn": app_secret, "json_key": "password"},
    }
    given_the_master = {name for name, module in modules.items() if master_secret in json.dumps(module.get("secrets", {}))}
    assert given_the_master == {"todo_api_migration"}
    # The migration sets the application role's password, so it reads that secret too.
    assert modules["todo_api_migration"]["secrets"]["APP_DB_PASSWORD"] == {"arn": app_secret, "json_key": "password"}


def test_the_application_password_never_enters_the_state(prod_plan):
    version = _one(prod_plan, "aws_secretsmanager_secret_version")

    assert version.get("secret_string") is None
    assert version["secret_string_wo_version"] == 1
    # Only the migration task is not a service: it is run once per release, never kept running.
    families = {r["values"]["family"] for r in of_type(prod_plan, "aws_ecs_task_definition").values()}
    services = {r["values"]["name"] for r in of_type(prod_plan, "aws_ecs_service").values()}
    assert families - {f"taskoverflow-{name}" for name in services} == {"taskoverflow-todo-api-migration"}


def test_the_database_url_verifies_the_server_certificate():
    database = _locals("services.tf")["database_environment"]

    assert database["DB_SSLMODE"] == "verify-full"
    assert database["DB_SSLROOTCERT"] == "/etc/ssl/certs/rds-global-bundle.pem"
    for name in ("todo_api", "todo_api_migration"):
        assert "local.database_environment" in _modules("services.tf")[name]["environment"], name


def test_only_the_api_and_the_migration_reach_the_database(prod_plan):
    clients = _module_call(prod_plan, "database")["client_security_group_ids"]["references"]

    assert {reference for reference in clients if reference.endswith(".security_group_id")} == {
        "module.todo_api.security_group_id",
        "module.todo_api_migration.security_group_id",
    }


# --- Users -------------------------------------------------------------------------------------------


def test_the_api_gets_its_auth_settings_from_cognito(prod_plan):
    client = _one(prod_plan, "aws_cognito_user_pool_client")
    pool = _one(prod_plan, "aws_cognito_user_pool")
    api = _modules("services.tf")["todo_api"]
    settings = _locals("security.tf")["auth_settings"]

    # The web page is a public client: authorization code with PKCE, no secret.
    assert client["generate_secret"] is False
    assert client["allowed_oauth_flows"] == ["code"]
    assert client["allowed_oauth_flows_user_pool_client"] is True
    assert set(client["allowed_oauth_scopes"]) == {"openid", "email", "profile"}
    assert client["callback_urls"] == ["https://todo.example.com/"]
    assert pool["username_attributes"] == ["email"] and pool["auto_verified_attributes"] == ["email"]
    assert _one(prod_plan, "aws_cognito_user_pool_domain")["domain"] == "taskoverflow-users"
    # Cognito unless an external issuer is given, and the API task gets all three settings.
    assert "module.auth[0].jwks_url" in settings and "module.auth[0].issuer" in settings and "module.auth[0].client_id" in settings
    assert "local.auth_settings" in api["environment"]
    assert api["required_environment"] == "${keys(local.auth_settings)}"


@pytest.fixture(scope="module")
def prod_terraform(tmp_path_factory) -> OfflineTerraform:
    terraform = OfflineTerraform(PROD_ENV, tmp_path_factory.mktemp("tf-prod-auth"))
    terraform.init()
    return terraform


def test_terraform_refuses_an_external_issuer_without_its_settings(prod_terraform):
    empty = 'auth_external_issuer={issuer="https://issuer.example",jwks_url="",audience="api"}'

    with pytest.raises(AssertionError, match="never deployed without authentication"):
        prod_terraform.run("plan", "-lock=false", "-no-color", f"-var-file={OFFLINE_VARS}", f"-var={empty}")


def test_a_task_refuses_to_be_planned_without_its_required_settings(tmp_path_factory):
    terraform = OfflineTerraform(FIXTURES / "modules", tmp_path_factory.mktemp("tf-modules-required"))
    terraform.init()

    with pytest.raises(AssertionError, match="refuses to be deployed without AUTH_JWKS_URL"):
        terraform.run("plan", "-lock=false", "-no-color", "-var=auth_jwks_url=")


# --- Abuse limits at the edge ----------------------------------------------------------------------


def test_the_load_balancer_is_rate_limited_per_client_address(prod_plan):
    acl = _one(prod_plan, "aws_wafv2_web_acl")
    rules = {rule["name"]: rule for rule in acl["rule"]}

    assert acl["scope"] == "REGIONAL"
    for name, limit in (("requests-per-client-address", 2000), ("calendar-requests-per-client-address", 30)):
        rate = rules[name]["statement"][0]["rate_based_statement"][0]
        assert (rate["aggregate_key_type"], rate["limit"], rate["evaluation_window_sec"]) == ("IP", limit, 300), name
        response = rules[name]["action"][0]["block"][0]["custom_response"][0]
        assert response["response_code"] == 429, name
        assert response["response_header"] == [{"name": "Retry-After", "value": "300"}], name
    body = json.loads(acl["custom_response_body"][0]["content"])
    assert set(body) == {"error"}
    # Tied to the load balancer of this stack (its ARN is known only after apply).
    assert len(of_type(prod_plan, "aws_wafv2_web_acl_association")) == 1
    association_call = prod_plan["configuration"]["root_module"]["module_calls"]["load_balancer"]["module"]
    wiring = next(r for r in association_call["resources"] if r["address"] == "aws_wafv2_web_acl_association.api")
    assert wiring["expressions"]["resource_arn"]["references"][-1] == "aws_lb.this"


def test_the_calendar_rule_is_scoped_to_calendar_requests(prod_plan):
    acl = _one(prod_plan, "aws_wafv2_web_acl")
    calendar = next(rule for rule in acl["rule"] if rule["name"] == "calendar-requests-per-client-address")
    scope = calendar["statement"][0]["rate_based_statement"][0]["scope_down_statement"][0]["and_statement"][0]["statement"]
    matches = {m["byte_match_statement"][0]["search_string"] for m in scope}

    assert matches == {"POST", "/api/v1/todos/ical"}
    assert calendar["priority"] < next(r["priority"] for r in acl["rule"] if r["name"] == "requests-per-client-address")


def test_the_waf_blocks_known_bad_inputs_and_anonymising_proxies(prod_plan):
    acl = _one(prod_plan, "aws_wafv2_web_acl")
    groups = {
        rule["statement"][0]["managed_rule_group_statement"][0]["name"]
        for rule in acl["rule"]
        if rule["statement"][0].get("managed_rule_group_statement")
    }

    assert groups == {"AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAnonymousIpList"}


def test_the_waf_logs_never_hold_bearer_tokens(prod_plan):
    logging = _one(prod_plan, "aws_wafv2_web_acl_logging_configuration")

    assert logging["redacted_fields"] == [{"method": [], "query_string": [], "single_header": [{"name": "authorization"}], "uri_path": []}]
