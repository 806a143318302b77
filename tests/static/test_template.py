"""template.yaml is the map of the system: these tests hold it to docs/design.md and to the models."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from local import template as tpl

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "docs" / "design.md"

T = tpl.load()
RESOURCES: dict[str, dict[str, Any]] = T["Resources"]
FUNCTIONS = {lid: res for lid, res in RESOURCES.items() if res["Type"] == "AWS::Serverless::Function"}
JOBS = [
    "checkout",
    "stripe_webhook",
    "purchases_api",
    "invitations_api",
    "me_api",
    "upgrades_api",
    "admin_api",
    "openapi",
    "mailer",
    "events_publisher",
    "ses_feedback",
    "expiry_sweep",
    "deliveries",
]

# The table actions each job may use (docs/design.md; the brief's least-privilege list).
# TransactWriteItems is authorised per item action (Put/Update/ConditionCheck/Delete).
TABLE_ACTIONS = {
    "checkout": set(),
    "stripe_webhook": {"GetItem", "PutItem", "UpdateItem", "ConditionCheckItem", "Query"},
    "purchases_api": {"GetItem", "BatchGetItem", "Query", "UpdateItem", "PutItem", "ConditionCheckItem"},
    "invitations_api": {"GetItem", "UpdateItem", "PutItem", "ConditionCheckItem"},
    "me_api": {"GetItem", "UpdateItem", "PutItem"},
    "upgrades_api": {"GetItem", "UpdateItem", "PutItem"},
    # DeleteItem: erasure deletes an audit mention once its event is scrubbed (docs/privacy.md)
    "admin_api": {
        "GetItem",
        "BatchGetItem",
        "Query",
        "UpdateItem",
        "PutItem",
        "DeleteItem",
        "ConditionCheckItem",
    },
    "openapi": set(),
    "mailer": {"GetItem", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"},  # + the redrive
    "events_publisher": {"UpdateItem"},  # an accepted gift's sender onto its entitlement (giftplans.givers)
    "ses_feedback": {"GetItem", "UpdateItem", "PutItem"},  # the bounce and its audit event
    "expiry_sweep": {"GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"},
    "deliveries": {"UpdateItem", "PutItem"},  # SPEC 8.1: one touch per due seat (and Query on GSI2)
}
INDEXES_QUERIED = {
    "purchases_api": {"GSI1"},
    "admin_api": {"GSI3"},
    "expiry_sweep": {"GSI2"},
    "deliveries": {"GSI2"},
    "mailer": {"GSI2"},  # the redrive: parked mail by UNSENT#<day>
}
SECRETS_READ = {
    "checkout": {"StripeApiKeyParam"},
    "stripe_webhook": {"StripeWebhookSecretParam", "StripeApiKeyParam"},
    "purchases_api": {"TokenKeyParam"},
    "invitations_api": {"TokenKeyParam", "StripeApiKeyParam"},
    "me_api": {"TokenKeyParam"},
    "upgrades_api": {"StripeApiKeyParam", "TokenKeyParam"},  # TokenKeyParam: upgrade offers' MAC
    "admin_api": {"StripeApiKeyParam", "TokenKeyParam"},
    "mailer": {"TokenKeyParam"},
}


def _job_of(lid: str) -> str:
    return str(FUNCTIONS[lid]["Properties"]["CodeUri"]).rstrip("/").split("/")[-1]


def _statements(lid: str) -> list[dict[str, Any]]:
    """Every IAM statement the function's role carries (inline SAM policies or its explicit role)."""
    props = FUNCTIONS[lid]["Properties"]
    if "Role" in props:
        role_id = props["Role"]["Fn::GetAtt"][0]
        role = RESOURCES[role_id]["Properties"]
        return [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    out = []
    for policy in props.get("Policies", []):
        assert isinstance(policy, dict) and set(policy) == {"Statement"}, (
            f"{lid}: only inline statements, no managed policy or SAM policy template: {policy}"
        )
        out.extend(policy["Statement"])
    return out


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _dynamodb(lid: str) -> list[tuple[set[str], list[Any]]]:
    rows = []
    for s in _statements(lid):
        actions = {a.split(":", 1)[1] for a in _listify(s["Action"]) if a.startswith("dynamodb:")}
        if actions:
            rows.append((actions, _listify(s["Resource"])))
    return rows


# ---- design.md's route table ----------------------------------------------------------------------------


def _design_routes() -> set[tuple[str, str, str, str]]:
    """(method, path, job, auth) from the "Functions and routes" table of docs/design.md."""
    text = DESIGN.read_text(encoding="utf-8")
    section = text.split("## Functions and routes", 1)[1].split("\n## ", 1)[0]
    auth_of = {"JWT": "jwt", "none": "none", "AWS_IAM": "iam"}
    out: set[tuple[str, str, str, str]] = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[1] != "HTTP":
            continue
        job = cells[0].strip("`")
        pending: list[tuple[str, str]] = []
        for m in re.finditer(
            r"`(GET|POST|PUT|PATCH|DELETE) ([^`]+)`|\((JWT|none|AWS_IAM)\b[^)]*\)", cells[2]
        ):
            if m.group(1):
                pending.append((m.group(1), m.group(2)))
            else:
                out.update((method, path, job, auth_of[m.group(3)]) for method, path in pending)
                pending = []
        assert not pending, f"design.md row {job}: routes without an auth: {pending}"
    return out


def test_given_design_route_table_when_reading_template_routes_then_they_are_the_same():
    design = _design_routes()
    assert len(design) >= 20  # the parser found the table
    template = {(r.method, r.path, r.job, r.auth) for r in tpl.routes()}
    assert template == design


def test_given_routes_when_listed_then_no_catch_all_or_duplicate():
    routes = tpl.routes()
    keys = [(r.method, r.path) for r in routes]
    assert len(keys) == len(set(keys))
    assert not [r for r in routes if "proxy+" in r.path or r.path == "$default"]
    assert {r.handler for r in routes} == {"app.handler"}


def test_given_functions_when_listed_then_one_per_job_with_its_own_folder():
    assert sorted(f.job for f in tpl.functions()) == sorted(JOBS)
    for f in tpl.functions():
        assert (ROOT / "functions" / f.job).as_posix().endswith(f"functions/{f.job}")
        assert FUNCTIONS[f.function]["Properties"]["CodeUri"] == f"functions/{f.job}/"


# ---- the table and the models ---------------------------------------------------------------------------


def test_given_models_when_reading_table_definition_then_keys_and_indexes_match():
    from giftplans.store.models import Item

    definition = tpl.table_definition(table_name="t")
    assert definition["TableName"] == "t"
    assert definition["KeySchema"] == [
        {"AttributeName": "PK", "KeyType": "HASH"},
        {"AttributeName": "SK", "KeyType": "RANGE"},
    ]
    assert definition["BillingMode"] == "PAY_PER_REQUEST"
    assert definition["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }

    from_template = {g["IndexName"]: g for g in definition["GlobalSecondaryIndexes"]}
    from_models = {idx.Meta.index_name: idx for idx in (Item.buyer_index, Item.due_index, Item.email_index)}
    assert set(from_template) == set(from_models) == {"GSI1", "GSI2", "GSI3"}
    for name, index in from_models.items():
        schema = index._get_schema()
        assert from_template[name]["KeySchema"] == schema["key_schema"], name
        projection = from_template[name]["Projection"]
        assert projection["ProjectionType"] == index.Meta.projection.projection_type, name
        assert sorted(projection.get("NonKeyAttributes", [])) == sorted(
            index.Meta.projection.non_key_attributes or []
        ), name

    defined = {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]}
    keys = {k["AttributeName"] for k in definition["KeySchema"]}
    keys |= {k["AttributeName"] for g in definition["GlobalSecondaryIndexes"] for k in g["KeySchema"]}
    assert defined == dict.fromkeys(keys, "S")


def test_given_models_when_reading_ttl_then_it_is_the_models_expires_at():
    from giftplans.store.models import Item

    ttl = tpl.time_to_live(table_name="t")
    assert ttl == {
        "TableName": "t",
        "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
    }
    assert Item.expires_at.attr_name == "expires_at"


def test_given_table_resource_when_deployed_then_data_is_protected():
    table = RESOURCES["Table"]
    props = table["Properties"]
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert props["SSESpecification"] == {"SSEEnabled": True}


def test_given_table_definition_when_creating_it_in_moto_then_boto3_accepts_it():
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**tpl.table_definition(table_name="shape-check"))
        ttl = tpl.time_to_live(table_name="shape-check")
        assert ttl is not None
        client.update_time_to_live(**ttl)
        described = client.describe_table(TableName="shape-check")["Table"]
    assert {g["IndexName"] for g in described["GlobalSecondaryIndexes"]} == {"GSI1", "GSI2", "GSI3"}
    assert described["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"


# ---- functions: log groups, roles, secrets ----------------------------------------------------------------


@pytest.mark.parametrize("lid", sorted(FUNCTIONS))
def test_given_function_when_deployed_then_it_logs_to_its_own_log_group_with_retention(lid):
    props = FUNCTIONS[lid]["Properties"]
    group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    group = RESOURCES[group_id]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    function_name = props["FunctionName"]["Fn::Sub"]
    assert group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{function_name}"}
    others = [
        f
        for f, r in FUNCTIONS.items()
        if f != lid and r["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] == group_id
    ]
    assert not others


@pytest.mark.parametrize("lid", sorted(FUNCTIONS))
def test_given_function_role_when_read_then_no_wildcard_action_and_no_wildcard_table(lid):
    statements = _statements(lid)
    for s in statements:
        assert s["Effect"] == "Allow"
        for action in _listify(s["Action"]):
            assert "*" not in action, f"{lid}: wildcard action {action}"
            assert action != "dynamodb:TransactWriteItems", "not an IAM action: authorise the item actions"
    for _, resources in _dynamodb(lid):
        for resource in resources:
            assert resource != "*", f"{lid}: dynamodb on every resource"
            text = json.dumps(resource)
            assert "Table" in text and "table/*" not in text, f"{lid}: dynamodb beyond the one table: {text}"


@pytest.mark.parametrize("lid", sorted(FUNCTIONS))
def test_given_function_role_when_read_then_table_actions_are_exactly_what_the_job_needs(lid):
    job = _job_of(lid)
    on_table: set[str] = set()
    on_indexes: set[str] = set()
    for actions, resources in _dynamodb(lid):
        for resource in resources:
            if resource == {"Fn::GetAtt": ["Table", "Arn"]}:
                on_table |= actions
            elif isinstance(resource, dict) and "/index/" in str(resource.get("Fn::Sub")):
                assert actions == {"Query"}, f"{lid}: only Query on an index"
                on_indexes.add(resource["Fn::Sub"].rsplit("/", 1)[1])
            else:
                assert actions <= {"DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"}, (
                    f"{lid}: {actions} on {resource}"
                )
    assert on_table == TABLE_ACTIONS[job]
    assert on_indexes == INDEXES_QUERIED.get(job, set())


@pytest.mark.parametrize("lid", sorted(FUNCTIONS))
def test_given_function_role_when_read_then_it_reads_only_its_own_secrets(lid):
    job = _job_of(lid)
    params: set[str] = set()
    for s in _statements(lid):
        if "ssm:GetParameter" in _listify(s["Action"]):
            for resource in _listify(s["Resource"]):
                params |= set(re.findall(r"parameter\$\{(\w+)\}", resource["Fn::Sub"]))
        if "kms:Decrypt" in _listify(s["Action"]):
            assert s["Condition"]["StringEquals"]["kms:ViaService"] == {
                "Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"
            }
    assert params == SECRETS_READ.get(job, set())


def test_given_environment_when_read_then_secrets_are_only_ssm_parameter_names():
    variables = dict(T["Globals"]["Function"]["Environment"]["Variables"])
    for res in FUNCTIONS.values():
        variables.update((res["Properties"].get("Environment") or {}).get("Variables") or {})
    for name in ("STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "TOKEN_KEY"):
        assert name not in variables
        assert variables[f"{name}_PARAM"]["Ref"] in T["Parameters"]
    for name, spec in T["Parameters"].items():
        default = str(spec.get("Default", ""))
        assert not re.search(r"\b(sk|rk)_(live|test)_|\bwhsec_", default), (
            f"{name} default looks like a secret"
        )


# ---- asynchronous work: stream consumers, schedule, dead letters, alarms ---------------------------------


def test_given_stream_consumers_when_read_then_mailer_and_publisher_are_filtered_and_bisect():
    consumers = {c.job: c for c in tpl.stream_consumers()}
    assert set(consumers) == {"mailer", "events_publisher"}
    assert consumers["mailer"].batch_size == 10
    assert consumers["events_publisher"].batch_size == 100
    assert consumers["mailer"].filter_patterns == (
        {"dynamodb": {"NewImage": {"type": {"S": ["seat", "purchase", "profile"]}}}},
    )
    assert consumers["events_publisher"].filter_patterns == (
        {"dynamodb": {"NewImage": {"type": {"S": ["seat", "purchase", "entitlement"]}}}},
    )
    for c in consumers.values():
        assert (
            c.starting_position,
            c.maximum_retry_attempts,
            c.bisect_on_error,
            c.report_batch_item_failures,
        ) == ("LATEST", 10, True, True)
    assert FUNCTIONS["MailerFunction"]["Properties"]["ReservedConcurrentExecutions"] == 2


def _failure_queue(lid: str) -> str:
    props = FUNCTIONS[lid]["Properties"]
    for event in props["Events"].values():
        if event["Type"] == "DynamoDB":
            return str(event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0])
    return str(props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0])


@pytest.mark.parametrize(
    "lid",
    [
        "MailerFunction",
        "EventsPublisherFunction",
        "SesFeedbackFunction",
        "ExpirySweepFunction",
        "DeliveriesFunction",
    ],
)
def test_given_async_function_when_it_fails_then_work_lands_in_an_encrypted_alarmed_queue(lid):
    queue_id = _failure_queue(lid)
    queue = RESOURCES[queue_id]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    alarms = [
        r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and r["Properties"]["Dimensions"][0]["Value"] == {"Fn::GetAtt": [queue_id, "QueueName"]}
    ]
    assert len(alarms) == 1
    assert (alarms[0]["Threshold"], alarms[0]["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_given_any_queue_when_read_then_it_is_encrypted_at_rest():
    # .checkov.yaml skips CKV_AWS_27 for every queue because they use SSE-SQS, which checkov's
    # CloudFormation check does not read: this holds that reason for each queue, present or future.
    queues = {lid: r["Properties"] for lid, r in RESOURCES.items() if r["Type"] == "AWS::SQS::Queue"}
    assert queues
    plain = [
        lid
        for lid, p in queues.items()
        if p.get("SqsManagedSseEnabled") is not True and not p.get("KmsMasterKeyId")
    ]
    assert plain == []


def test_given_sweep_when_scheduled_then_it_runs_at_the_sweep_schedule_parameter():
    props = FUNCTIONS["ExpirySweepFunction"]["Properties"]
    schedules = [e for e in props["Events"].values() if e["Type"] == "Schedule"]
    assert [s["Properties"]["Schedule"] for s in schedules] == [{"Ref": "SweepSchedule"}]
    assert T["Parameters"]["SweepSchedule"]["Default"] == "cron(0 3 * * ? *)"
    assert props["Timeout"] == 900
    own_arn = (
        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
        + props["FunctionName"]["Fn::Sub"]
    )
    invokes = [
        s["Resource"] for s in _statements("ExpirySweepFunction") if s["Action"] == ["lambda:InvokeFunction"]
    ]
    assert invokes == [
        [{"Fn::Sub": own_arn}]
    ]  # it continues itself (giftplans.sweep.invoke_self), nothing else


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_given_every_function_when_it_errors_or_throttles_then_an_alarm_fires(metric):
    alarmed = {
        json.dumps(r["Properties"]["Dimensions"][0]["Value"])
        for r in RESOURCES.values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["MetricName"] == metric
    }
    assert alarmed == {json.dumps({"Ref": lid}) for lid in FUNCTIONS}


def test_given_api_when_it_answers_5xx_then_an_alarm_fires():
    alarms = [
        r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["Namespace"] == "AWS/ApiGateway"
    ]
    assert [a["MetricName"] for a in alarms] == ["5xx"]


def test_given_globals_when_read_then_runtime_arch_tracing_and_layer_are_shared():
    g = T["Globals"]["Function"]
    assert (g["Runtime"], g["Architectures"], g["Tracing"]) == ("python3.13", ["arm64"], "Active")
    assert g["Layers"] == [{"Ref": "CommonLayer"}]
    layer = RESOURCES["CommonLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/common/"
    assert layer["Metadata"]["BuildMethod"] == "makefile"  # layers/common/Makefile: test_layer_build.py


# ---- what the template generates (Fn::ForEach) and who must know -----------------------------------------


def test_given_the_template_when_read_as_written_then_language_extensions_run_before_sam():
    # CloudFormation applies the transforms in order: the loops must be expanded before SAM's.
    assert tpl.load(expand=False)["Transform"] == ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]


def test_given_loops_in_the_template_when_sam_reads_it_then_samconfig_expands_them_for_every_command():
    # Without language_extensions, `sam build` stops at the first loop ('list' object has no
    # attribute 'get'); `make build` and `sam build && sam deploy` read these sections.
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    sections = {
        f"[{env}.{command}.parameters]": body.get("parameters", {})
        for env, commands in config.items()
        if isinstance(commands, dict)
        for command, body in commands.items()
        if command in {"build", "package", "deploy", "sync", "validate", "local_start_api"}
    }

    assert {"[default.build.parameters]", "[dev.deploy.parameters]", "[prod.deploy.parameters]"} <= set(
        sections
    )
    assert [name for name, params in sections.items() if params.get("language_extensions") is not True] == []


def test_given_make_checkov_when_it_writes_the_template_it_scans_then_that_is_the_expanded_template():
    # checkov reads no Fn::ForEach: `make checkov` scans what `python -m local.template` prints.
    done = subprocess.run(
        [sys.executable, "-m", "local.template"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    scanned = json.loads(done.stdout)

    assert scanned == T
    assert not [lid for lid in scanned["Resources"] if lid.startswith("Fn::ForEach")]
    assert "CheckoutErrorsAlarm" in scanned["Resources"]


def test_given_the_template_when_expanded_here_and_by_cfn_lint_then_the_resources_agree():
    from cfnlint.decode import decode
    from cfnlint.template import Template

    path = str(tpl.TEMPLATE_PATH)
    decoded, problems = decode(path)
    assert not problems
    theirs = Template(path, decoded, ["us-east-1"])
    assert not theirs.transform()

    # cfn-lint also merges SAM's Globals into the SAM resources: compare everything else.
    def plain(resources: dict[str, Any]) -> dict[str, Any]:
        return {lid: r for lid, r in resources.items() if not r["Type"].startswith("AWS::Serverless::")}

    assert plain(RESOURCES) == plain(theirs.template["Resources"])


# ---- the loader itself ---------------------------------------------------------------------------------


def test_given_short_tags_when_loading_then_they_become_long_forms(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "A: !Ref X\nB: !GetAtt T.Arn\nC: !Sub '${X}-y'\nD: !If [Cond, !Ref X, !Ref AWS::NoValue]\n"
    )
    assert tpl.load(path) == {
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["T", "Arn"]},
        "C": {"Fn::Sub": "${X}-y"},
        "D": {"Fn::If": ["Cond", {"Ref": "X"}, {"Ref": "AWS::NoValue"}]},
    }


def test_given_loaded_template_when_caller_changes_it_then_next_load_is_unchanged():
    first = tpl.load()
    first["Resources"].clear()
    assert tpl.load()["Resources"]


# ---- Fn::ForEach, as the AWS::LanguageExtensions transform expands it -----------------------------------

LOOPS = """\
Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]
Conditions:
  HasTopic: !Not [!Equals [!Ref Topic, ""]]
Resources:
  AQueue: {Type: AWS::SQS::Queue}
  BQueue: {Type: AWS::SQS::Queue}
  Fn::ForEach::QueueAlarms:
    - Name
    - [A, B]
    - ${Name}Alarm:
        Type: AWS::CloudWatch::Alarm
        Properties:
          AlarmDescription: !Sub "${Name}Queue holds ${!literal} work in ${AWS::Region}."
          Dimensions:
            - {Name: QueueName, Value: !GetAtt [!Sub "${Name}Queue", QueueName]}
            - {Name: Own, Value: {Ref: !Sub "${Name}Queue"}}
            - {Name: Item, Value: !Ref Name}
          AlarmActions: !If [HasTopic, [!Ref Topic], !Ref AWS::NoValue]
  Fn::ForEach::Nested:
    - Outer
    - [x-1, y.2]
    - Fn::ForEach::Inner:
        - Inner
        - [P, Q]
        - Topic&{Outer}${Inner}:
            Type: AWS::SNS::Topic
            Properties:
              TopicName: !Sub "${Outer}-${Inner}"
Outputs:
  Fn::ForEach::QueueOutputs:
    - Name
    - [A, B]
    - ${Name}QueueArn:
        Value: !GetAtt [!Sub "${Name}Queue", Arn]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "loops.yaml"
    path.write_text(text)
    return path


def test_given_for_each_loops_when_loading_then_each_item_gets_its_copy(tmp_path):
    resources = tpl.load(_write(tmp_path, LOOPS))["Resources"]

    assert sorted(resources) == [
        "AAlarm",
        "AQueue",
        "BAlarm",
        "BQueue",
        "Topicx1P",
        "Topicx1Q",
        "Topicy2P",
        "Topicy2Q",
    ]
    assert resources["BAlarm"]["Properties"] == {
        "AlarmDescription": {"Fn::Sub": "BQueue holds ${!literal} work in ${AWS::Region}."},
        "Dimensions": [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": ["BQueue", "QueueName"]}},
            {"Name": "Own", "Value": {"Ref": "BQueue"}},
            {"Name": "Item", "Value": "B"},
        ],
        "AlarmActions": {"Fn::If": ["HasTopic", [{"Ref": "Topic"}], {"Ref": "AWS::NoValue"}]},
    }
    assert resources["Topicy2Q"]["Properties"] == {"TopicName": "y.2-Q"}


def test_given_for_each_loops_when_loading_as_written_then_the_loops_are_kept(tmp_path):
    resources = tpl.load(_write(tmp_path, LOOPS), expand=False)["Resources"]

    assert "Fn::ForEach::QueueAlarms" in resources
    assert "AAlarm" not in resources


def test_given_for_each_loops_when_expanded_here_and_by_cfn_lint_then_both_agree(tmp_path):
    # cfn-lint carries its own implementation of the transform: a second opinion on ours.
    from cfnlint.decode import decode
    from cfnlint.template import Template

    path = _write(tmp_path, LOOPS)
    decoded, problems = decode(str(path))
    assert not problems
    theirs = Template(str(path), decoded, ["us-east-1"])
    assert not theirs.transform()

    ours = tpl.load(path)
    assert ours["Resources"] == theirs.template["Resources"]
    assert ours["Outputs"] == theirs.template["Outputs"]


@pytest.mark.parametrize(
    ("loop", "complaint"),
    [
        ("[N, [A], {'${N}X': {Type: T, Properties: {D: '${N} bare'}}}]", "outside Fn::Sub"),
        ("[N, !Ref Names, {'${N}X': {Type: T}}]", "only a literal list"),
        ("[N, [A, A], {'${N}X': {Type: T}}]", "generated twice"),
        ("[N, [A], {'${N}X': {Type: T}}, extra]", "expected [Identifier"),
    ],
)
def test_given_a_loop_this_reader_cannot_expand_faithfully_when_loading_then_it_refuses(
    tmp_path, loop, complaint
):
    path = _write(tmp_path, f"Resources:\n  Fn::ForEach::L: {loop}\n")

    with pytest.raises(ValueError, match=re.escape(complaint)):
        tpl.load(path)


def test_given_a_loop_that_repeats_a_resource_beside_it_when_loading_then_it_refuses(tmp_path):
    path = _write(tmp_path, "Resources:\n  AX: {Type: T}\n  Fn::ForEach::L: [N, [A], {'${N}X': {Type: T}}]\n")

    with pytest.raises(ValueError, match="defined twice"):
        tpl.load(path)


def test_given_job_environment_when_resolved_then_parameters_resolve_and_resources_are_left_out():
    env = tpl.environment("checkout", overrides={"WebBaseUrl": "https://app.example.com"})
    assert env["WEB_BASE_URL"] == "https://app.example.com"
    assert env["CHECKOUT_SUCCESS_URL"] == "https://app.example.com/billing?session_id={CHECKOUT_SESSION_ID}"
    assert env["MAX_QUANTITY"] == "1000"
    assert json.loads(env["PLANS"])["pro"]["rank"] == 2
    assert "TABLE_NAME" not in env  # a Ref to the table: the caller names its own
    assert not [k for k in env if k.endswith("_PARAM")]
    assert (
        tpl.environment("mailer", include_secret_params=True)["TOKEN_KEY_PARAM"]
        == "/gift-plans/dev/token-key"
    )
    assert "SES_CONFIGURATION_SET" not in tpl.environment("mailer")


def test_given_unknown_job_when_asking_environment_then_key_error():
    with pytest.raises(KeyError):
        tpl.environment("nope")


# ---- sample events --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["checkout_session_create.json", "get_purchases.json"])
def test_given_sample_http_event_when_read_then_it_targets_a_jwt_route_with_claims(name):
    event = json.loads((ROOT / "events" / name).read_text())
    method, path = event["routeKey"].split(" ", 1)
    route = next(r for r in tpl.routes() if (r.method, r.path) == (method, path))
    assert route.auth == "jwt"
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
    assert event["version"] == "2.0"


def test_given_sample_schedule_events_when_read_then_they_are_the_sweep_inputs():
    schedule = json.loads((ROOT / "events" / "schedule.json").read_text())
    manual = json.loads((ROOT / "events" / "sweep_manual.json").read_text())
    assert (schedule["source"], schedule["detail-type"]) == ("aws.events", "Scheduled Event")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", manual["now"])


def test_given_the_mailer_when_read_then_ses_trouble_has_six_hours_and_a_redrive_every_15_minutes():
    events = FUNCTIONS["MailerFunction"]["Properties"]["Events"]
    assert events["TableStream"]["Properties"]["MaximumRecordAgeInSeconds"] == 21600
    schedule = events["Redrive"]["Properties"]
    assert (events["Redrive"]["Type"], schedule["Schedule"]) == ("Schedule", "rate(15 minutes)")
    assert json.loads(schedule["Input"]) == {"redrive": {}}
