"""Read template.yaml, the one map of the system, for the local server and the tests.

The template is the single source of truth for routes, the table and each function's
environment; nothing here repeats it. What this module offers (a stable interface):

    load(path=None) -> dict                 the template, CloudFormation short tags as dicts,
                                            Fn::ForEach expanded (expand=False: as written)
    functions() -> list[Function]           every AWS::Serverless::Function: logical id, job, handler,
                                            timeout, memory, and its FunctionName locally (`name`)
    routes() -> list[Route]                 every HTTP API route: method, path, function, job, handler, auth
    table_definition(table_name=None)       kwargs for boto3 `create_table`, from the table resource
    time_to_live()                          kwargs for boto3 `update_time_to_live`
    stream_consumers() -> list[StreamConsumer]   the table-stream functions with batch size and filters
    sns_subscriptions() -> list[SnsSubscription] functions subscribed to an SNS topic, with their retries
    mail_event_destinations() -> list[MailEventDestination]  SES configuration-set events sent to SNS
    resource_names(stack) -> dict[str, str] the names Ref gives for the topics and configuration sets
    environment(job, overrides=None)        Globals + function variables, resolvable values only
                                            (secret parameter names only with include_secret_params=True)
    parameters() -> dict[str, str]          parameter defaults

`python -m local.template` prints the expanded template as JSON (`make checkov` scans it:
checkov does not read Fn::ForEach).

`job` is the function's folder under functions/ (its CodeUri), e.g. "purchases_api";
`function` is its logical id in the template, e.g. "PurchasesApiFunction".
Short tags are parsed as CloudFormation's long forms: `!Ref X` -> {"Ref": "X"},
`!GetAtt A.B` -> {"Fn::GetAtt": ["A", "B"]}, `!Sub s` -> {"Fn::Sub": s}, `!If [...]` ->
{"Fn::If": [...]}, and so on.

`Fn::ForEach` (the AWS::LanguageExtensions transform; template.yaml generates its alarms with
it) is expanded as CloudFormation does before anything else reads the template: each loop
becomes one copy of its fragment per item of its collection, `${Identifier}` (and `&{...}`)
replaced in keys and in `Fn::Sub` strings, `Ref: Identifier` replaced by the item. Only what
that transform resolves before deployment is done here; a form this reader does not know
(a collection that is not a literal list, a placeholder outside `Fn::Sub`) raises ValueError
rather than guess.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "template.yaml"
DEFAULT_TABLE_NAME = "gift-plans"
LOCAL_STACK_NAME = "gift-plans-local"  # what ${AWS::StackName} is in `make dev`

Auth = Literal["jwt", "none", "iam"]

_FN_TAGS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "Length",
    "ToJsonString",
)


# ---- loading ------------------------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """A safe YAML loader that understands CloudFormation's short-form intrinsic tags."""


def _node_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]


def _long_form(name: str):  # type: ignore[no-untyped-def]
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {name: _node_value(loader, node)}

    return construct


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _node_value(loader, node)
    if isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::GetAtt": value}


_CfnLoader.add_constructor("!Ref", _long_form("Ref"))
_CfnLoader.add_constructor("!Condition", _long_form("Condition"))
_CfnLoader.add_constructor("!GetAtt", _get_att)
for _tag in _FN_TAGS:
    _CfnLoader.add_constructor(f"!{_tag}", _long_form(f"Fn::{_tag}"))


@cache
def _parsed(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        # _CfnLoader is a SafeLoader subclass: it adds only the CloudFormation tags, which build plain dicts.
        data = yaml.load(f, Loader=_CfnLoader)  # noqa: S506  # nosec B506
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a template")
    return data


@cache
def _expanded(path: str) -> dict[str, Any]:
    return expand_for_each(_parsed(path))


def load(path: str | os.PathLike[str] | None = None, *, expand: bool = True) -> dict[str, Any]:
    """The template as plain data (a fresh copy: callers may change it).

    With `expand` (the default) every Fn::ForEach is expanded: the resources CloudFormation
    creates. `expand=False` gives the template as written.
    """
    name = str(path or TEMPLATE_PATH)
    return copy.deepcopy(_expanded(name) if expand else _parsed(name))


# ---- Fn::ForEach (AWS::LanguageExtensions) -------------------------------------------------------------

_FOR_EACH = "Fn::ForEach::"
_PLACEHOLDER = re.compile(r"[$&]\{(?!!)\s*([^}]+?)\s*\}")


def expand_for_each(template: dict[str, Any]) -> dict[str, Any]:
    """`template` with every Fn::ForEach loop replaced by its copies (a new dict)."""
    return {
        section: _walk(body, {}) if section in ("Resources", "Conditions", "Outputs") else copy.deepcopy(body)
        for section, body in template.items()
    }


def _substitute(text: str, items: dict[str, str]) -> str:
    for identifier, item in items.items():
        text = text.replace(f"${{{identifier}}}", item)
        text = text.replace(f"&{{{identifier}}}", re.sub(r"[^0-9A-Za-z]+", "", item))
    return text


def _walk(node: Any, items: dict[str, str]) -> Any:
    """A copy of `node` with the loops inside it expanded and the identifiers in `items` replaced."""
    if isinstance(node, list):
        return [_walk(v, items) for v in node]
    if isinstance(node, str):
        if any(m.group(1) in items for m in _PLACEHOLDER.finditer(node)):
            raise ValueError(f"{node!r}: a loop identifier outside Fn::Sub (write it as !Sub)")
        return node
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and isinstance(node["Ref"], str) and node["Ref"] in items:
        return items[node["Ref"]]
    if set(node) == {"Ref"} and isinstance(node["Ref"], dict):
        target = _walk(node["Ref"], items)  # LanguageExtensions resolves Ref: !Sub "..." to a name
        if not isinstance(target, str):
            raise ValueError(f"Ref to {node['Ref']!r} does not resolve to a name")
        return {"Ref": target}
    if set(node) == {"Fn::Sub"}:
        return _sub(node["Fn::Sub"], items)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith(_FOR_EACH):
            copies = _loop(key, value, items)
        else:
            copies = {_substitute(key, items): _walk(value, items)}
        for new_key, new_value in copies.items():
            if new_key in out:
                raise ValueError(f"{new_key}: defined twice (by a Fn::ForEach loop or beside one)")
            out[new_key] = new_value
    return out


def _sub(value: Any, items: dict[str, str]) -> Any:
    """Fn::Sub with the loop identifiers replaced; a plain string once nothing is left to substitute."""
    if isinstance(value, str):
        text = _substitute(value, items)
        return text if items and "${" not in text else {"Fn::Sub": text}
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        return {"Fn::Sub": [_substitute(value[0], items), _walk(value[1], items)]}
    raise ValueError(f"Fn::Sub {value!r}: expected a string or [string, variables]")


def _loop(key: str, value: Any, items: dict[str, str]) -> dict[str, Any]:
    if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)):
        raise ValueError(f"{key}: expected [Identifier, [items...], {{OutputKey: OutputValue}}]")
    identifier, collection, fragment = value
    collection = _walk(collection, items)
    if not (isinstance(collection, list) and all(isinstance(c, str) for c in collection)):
        raise ValueError(f"{key}: only a literal list of strings is expanded here, not {collection!r}")
    if not isinstance(fragment, dict):
        raise ValueError(f"{key}: the fragment must be a mapping")
    out: dict[str, Any] = {}
    for item in collection:
        for new_key, new_value in _walk(fragment, {**items, identifier: item}).items():
            if new_key in out:
                raise ValueError(f"{key}: {new_key} generated twice")
            out[new_key] = new_value
    return out


def _resources(template: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(lid, res) for lid, res in template.get("Resources", {}).items() if res.get("Type") == kind]


# ---- functions and routes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    function: str  # logical id, e.g. "PurchasesApiFunction"
    job: str  # folder under functions/, e.g. "purchases_api"
    handler: str  # "app.handler"
    timeout: int  # seconds
    memory: int  # MB
    name: str = ""  # its FunctionName in the local stack, e.g. "gift-plans-local-purchases-api"


@dataclass(frozen=True)
class Route:
    method: str  # "GET", "POST"
    path: str  # "/purchases/{purchase_id}"
    function: str
    job: str
    handler: str
    auth: Auth


def _job(props: dict[str, Any]) -> str:
    return str(props["CodeUri"]).rstrip("/").split("/")[-1]


def _global(template: dict[str, Any], key: str, default: Any = None) -> Any:
    return template.get("Globals", {}).get("Function", {}).get(key, default)


def functions(path: str | os.PathLike[str] | None = None) -> list[Function]:
    """Every function, in template order."""
    template = load(path)
    out = []
    for lid, res in _resources(template, "AWS::Serverless::Function"):
        props = res["Properties"]
        out.append(
            Function(
                function=lid,
                job=_job(props),
                handler=str(props.get("Handler") or _global(template, "Handler", "app.handler")),
                timeout=int(props.get("Timeout") or _global(template, "Timeout", 3)),
                memory=int(props.get("MemorySize") or _global(template, "MemorySize", 128)),
                name=_stack_name(props.get("FunctionName"), lid, LOCAL_STACK_NAME),
            )
        )
    return out


def _stack_name(value: Any, logical_id: str, stack: str) -> str:
    """A resource's name in stack `stack`: its `!Sub "${AWS::StackName}-..."`, else CloudFormation's own
    `<stack>-<LogicalId>` (without the random suffix CloudFormation adds)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return str(value["Fn::Sub"]).replace("${AWS::StackName}", stack)
    return f"{stack}-{logical_id}"


def _default_auth(template: dict[str, Any], api: Any) -> Auth:
    api_id = api.get("Ref") if isinstance(api, dict) else None
    apis = dict(_resources(template, "AWS::Serverless::HttpApi"))
    props = apis.get(api_id, {}).get("Properties", {}) if api_id else {}
    return "jwt" if props.get("Auth", {}).get("DefaultAuthorizer") else "none"


def routes(path: str | os.PathLike[str] | None = None) -> list[Route]:
    """Every HTTP API route, in template order. auth: "jwt" (the default authorizer), "none", "iam"."""
    template = load(path)
    by_id = {f.function: f for f in functions(path)}
    out = []
    for lid, res in _resources(template, "AWS::Serverless::Function"):
        fn = by_id[lid]
        for event in (res["Properties"].get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties", {})
            authorizer = props.get("Auth", {}).get("Authorizer")
            auth: Auth
            if authorizer == "NONE":
                auth = "none"
            elif authorizer == "AWS_IAM":
                auth = "iam"
            else:
                auth = _default_auth(template, props.get("ApiId"))
            out.append(
                Route(
                    method=str(props["Method"]).upper(),
                    path=str(props["Path"]),
                    function=lid,
                    job=fn.job,
                    handler=fn.handler,
                    auth=auth,
                )
            )
    return out


# ---- the table ----------------------------------------------------------------------------------------


def _table(template: dict[str, Any]) -> dict[str, Any]:
    tables = _resources(template, "AWS::DynamoDB::Table")
    if len(tables) != 1:
        raise ValueError(f"expected one table, found {len(tables)}")
    return dict(tables[0][1]["Properties"])


def table_definition(
    table_name: str | None = None, path: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """kwargs for boto3 `create_table`: the template's table, named `table_name` (or $TABLE_NAME)."""
    props = _table(load(path))
    definition: dict[str, Any] = {
        "TableName": table_name or os.environ.get("TABLE_NAME") or DEFAULT_TABLE_NAME,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = [
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
            for g in props["GlobalSecondaryIndexes"]
        ]
    stream = props.get("StreamSpecification")
    if stream:
        definition["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    return definition


def time_to_live(
    table_name: str | None = None, path: str | os.PathLike[str] | None = None
) -> dict[str, Any] | None:
    """kwargs for boto3 `update_time_to_live`, or None when the table has no TTL."""
    ttl = _table(load(path)).get("TimeToLiveSpecification")
    if not ttl or not ttl.get("Enabled"):
        return None
    return {
        "TableName": table_name or os.environ.get("TABLE_NAME") or DEFAULT_TABLE_NAME,
        "TimeToLiveSpecification": {"AttributeName": ttl["AttributeName"], "Enabled": True},
    }


# ---- stream consumers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamConsumer:
    function: str
    job: str
    handler: str
    batch_size: int
    filter_patterns: tuple[dict[str, Any], ...]  # parsed Lambda event filter patterns
    starting_position: str
    maximum_retry_attempts: int
    bisect_on_error: bool
    report_batch_item_failures: bool


def stream_consumers(path: str | os.PathLike[str] | None = None) -> list[StreamConsumer]:
    """Functions fed by the table's DynamoDB stream, in template order."""
    template = load(path)
    by_id = {f.function: f for f in functions(path)}
    out = []
    for lid, res in _resources(template, "AWS::Serverless::Function"):
        for event in (res["Properties"].get("Events") or {}).values():
            if event.get("Type") != "DynamoDB":
                continue
            props = event["Properties"]
            filters = (props.get("FilterCriteria") or {}).get("Filters") or []
            response_types = props.get("FunctionResponseTypes") or []
            out.append(
                StreamConsumer(
                    function=lid,
                    job=by_id[lid].job,
                    handler=by_id[lid].handler,
                    batch_size=int(props.get("BatchSize", 100)),
                    filter_patterns=tuple(json.loads(f["Pattern"]) for f in filters),
                    starting_position=str(props.get("StartingPosition", "LATEST")),
                    maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                    bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
                    report_batch_item_failures="ReportBatchItemFailures" in response_types,
                )
            )
    return out


# ---- SNS and SES ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SnsSubscription:
    topic: str  # the topic's logical id
    function: str
    job: str
    handler: str
    maximum_retry_attempts: (
        int  # EventInvokeConfig (an SNS invocation is asynchronous); Lambda's default is 2
    )


def sns_subscriptions(path: str | os.PathLike[str] | None = None) -> list[SnsSubscription]:
    """Functions with an `SNS` event, in template order."""
    template = load(path)
    by_id = {f.function: f for f in functions(path)}
    out = []
    for lid, res in _resources(template, "AWS::Serverless::Function"):
        props = res["Properties"]
        retries = (props.get("EventInvokeConfig") or {}).get("MaximumRetryAttempts", 2)
        for event in (props.get("Events") or {}).values():
            if event.get("Type") != "SNS":
                continue
            topic = event["Properties"]["Topic"]
            out.append(
                SnsSubscription(
                    topic=str(topic.get("Ref") if isinstance(topic, dict) else topic),
                    function=lid,
                    job=by_id[lid].job,
                    handler=by_id[lid].handler,
                    maximum_retry_attempts=int(retries),
                )
            )
    return out


@dataclass(frozen=True)
class MailEventDestination:
    configuration_set: str  # the configuration set's logical id
    event_types: tuple[str, ...]  # SES's lower-case names: "bounce", "complaint", "delivery", "send", ...
    topic: str  # the SNS topic's logical id


def mail_event_destinations(path: str | os.PathLike[str] | None = None) -> list[MailEventDestination]:
    """SES configuration-set event destinations that publish to an SNS topic."""
    template = load(path)
    out = []
    for _, res in _resources(template, "AWS::SES::ConfigurationSetEventDestination"):
        props = res["Properties"]
        destination = props.get("EventDestination") or {}
        sns = destination.get("SnsDestination") or {}
        topic, config = sns.get("TopicARN"), props.get("ConfigurationSetName")
        if (
            not destination.get("Enabled", True)
            or not isinstance(topic, dict)
            or not isinstance(config, dict)
        ):
            continue
        out.append(
            MailEventDestination(
                configuration_set=str(config.get("Ref")),
                event_types=tuple(str(t).lower() for t in destination.get("MatchingEventTypes") or []),
                topic=str(topic.get("Ref")),
            )
        )
    return out


def resource_names(
    stack: str = LOCAL_STACK_NAME, path: str | os.PathLike[str] | None = None
) -> dict[str, str]:
    """logical id -> the name `!Ref` gives, for the SNS topics and SES configuration sets of stack `stack`."""
    template = load(path)
    out = {}
    for lid, res in _resources(template, "AWS::SES::ConfigurationSet"):
        out[lid] = _stack_name((res.get("Properties") or {}).get("Name"), lid, stack)
    for lid, res in _resources(template, "AWS::SNS::Topic"):
        out[lid] = _stack_name((res.get("Properties") or {}).get("TopicName"), lid, stack)
    return out


# ---- environment --------------------------------------------------------------------------------------


def parameters(path: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """Each parameter's Default as a string (parameters without one are left out)."""
    out = {}
    for name, spec in load(path).get("Parameters", {}).items():
        if "Default" in spec:
            default = spec["Default"]
            out[name] = ",".join(map(str, default)) if isinstance(default, list) else str(default)
    return out


_SUB_VAR = re.compile(r"\$\{([^}!]+)\}")


def _resolve(value: Any, params: dict[str, str]) -> str | None:
    """A plain value, a Ref to a parameter, or a Sub over parameters; None when not resolvable locally."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict) and "Ref" in value:
        return params.get(value["Ref"])
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        text: str = value["Fn::Sub"]
        names = _SUB_VAR.findall(text)
        if any(name not in params for name in names):
            return None
        return _SUB_VAR.sub(lambda m: params[m.group(1)], text)
    return None


def environment(
    job: str,
    overrides: dict[str, str] | None = None,
    path: str | os.PathLike[str] | None = None,
    *,
    include_secret_params: bool = False,
) -> dict[str, str]:
    """The environment `job` gets deployed: Globals then the function's own variables.

    Refs to parameters become their Default (or `overrides[param]`); values that need a
    deployed resource (the table name, the configuration set) are omitted: the caller sets them.
    The `*_PARAM` variables (SSM parameter names of secrets) are left out unless
    `include_secret_params`: locally giftplans.secrets reads the values from the environment,
    and a parameter name would send it to SSM instead.
    """
    template = load(path)
    params = {**parameters(path), **(overrides or {})}
    variables = dict((_global(template, "Environment") or {}).get("Variables") or {})
    matches = [
        res for _, res in _resources(template, "AWS::Serverless::Function") if _job(res["Properties"]) == job
    ]
    if not matches:
        raise KeyError(f"no function with CodeUri functions/{job}/")
    variables.update((matches[0]["Properties"].get("Environment") or {}).get("Variables") or {})
    out = {}
    for name, value in variables.items():
        if name.endswith("_PARAM") and not include_secret_params:
            continue
        resolved = _resolve(value, params)
        if resolved is not None:
            out[name] = resolved
    return out


if __name__ == "__main__":
    json.dump(load(), sys.stdout, indent=1)
    sys.stdout.write("\n")
