"""HTTP events: API Gateway HTTP API (payload format 2.0) and Lambda function URLs.

Function URLs use the HTTP API's format 2.0 schema with placeholders where an API Gateway feature
does not exist (``routeKey`` and ``stage`` are ``$default``, ``authentication`` is null), so one
helper builds both and the two public builders only say what differs. Fields a real request does
not carry are left out rather than set to null, as API Gateway and Lambda leave them out, so a
handler that indexes ``event["queryStringParameters"]`` fails in its tests as it would deployed.
"""

from __future__ import annotations

import base64
import copy
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from lambdakit.errors import EventBuilderError
from lambdakit.testing.builders._common import (
    DEFAULT_ACCOUNT,
    now_ms,
    payload_bytes,
    payload_text,
    region_or_default,
)

DEFAULT_API_ID = "a1b2c3d4e5"
DEFAULT_URL_ID = "q7hx3ukmwzjv2yfbd4ptnsc6e5rgalo1"
DEFAULT_SOURCE_IP = "203.0.113.10"  # TEST-NET-3: documentation addresses, never a real caller
DEFAULT_USER_AGENT = "lambdakit-test"

# API Gateway writes `time` as in its access logs, with English month names whatever the locale.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

HeaderValues = str | Sequence[str]


def _request_time(epoch_ms: int) -> str:
    """``12/Mar/2020:19:03:58 +0000``: API Gateway's format of ``timeEpoch``, always UTC."""
    import time

    t = time.gmtime(epoch_ms // 1000)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def _values(value: Any, where: str) -> list[str]:
    """One value or a list of them, each checked to be text: a real request carries nothing else."""
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, Sequence):
        raise EventBuilderError(f"{where}: {value!r} is not a str or a list of str")
    for item in values:
        if not isinstance(item, str):
            raise EventBuilderError(f"{where}: {item!r} is not a str")
    return list(values)


def _headers(
    given: Mapping[str, HeaderValues] | None, added: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Header names lower-cased and repeated values comma-joined, as format 2.0 delivers them,
    over the headers API Gateway adds. A ``cookie`` header is split into the cookie list, because
    format 2.0 moves cookies out of ``headers`` into their own field."""
    joined: dict[str, list[str]] = {}
    for name, value in (given or {}).items():
        lower = name.lower()
        joined.setdefault(lower, []).extend(_values(value, f"headers[{lower!r}]"))
    cookies = [
        cookie.strip()
        for line in joined.pop("cookie", [])
        for cookie in line.split(";")
        if cookie.strip()
    ]
    headers = dict(added)
    headers.update({name: ",".join(values) for name, values in joined.items()})
    return headers, cookies


def _query(query: Mapping[str, HeaderValues]) -> tuple[str, dict[str, str]]:
    """``rawQueryString`` (each value repeated, percent-encoded as a client sends it) and
    ``queryStringParameters`` (decoded, repeated values comma-joined)."""
    from urllib.parse import quote

    checked = {name: _values(given, f"query[{name!r}]") for name, given in query.items()}
    raw = "&".join(
        f"{quote(name, safe='')}={quote(value, safe='')}"
        for name, values in checked.items()
        for value in values
    )
    return raw, {name: ",".join(values) for name, values in checked.items()}


def _body(body: Any, is_base64_encoded: bool | None) -> tuple[str, bool, bool, int]:
    """The body text, whether it is base64, whether the builder JSON-encoded it, and how many
    bytes the client sent (``content-length``)."""
    as_json = not isinstance(body, str | bytes | bytearray)
    encode = isinstance(body, bytes | bytearray) if is_base64_encoded is None else is_base64_encoded
    if encode:
        sent = payload_bytes(body, "body")
        return base64.b64encode(sent).decode(), True, as_json, len(sent)
    text = payload_text(body, "body")
    return text, False, as_json, len(text.encode())


def _http_event(
    body: Any,
    *,
    method: str,
    path: str,
    headers: Mapping[str, HeaderValues] | None,
    query: Mapping[str, HeaderValues] | None,
    cookies: Sequence[str] | None,
    is_base64_encoded: bool | None,
    source_ip: str,
    user_agent: str,
    request_id: str | None,
    time_epoch_ms: int | None,
    account_id: str,
    api_id: str,
    domain_name: str,
    route_key: str,
    stage: str,
    identity: dict[str, Any],
    optional: dict[str, Any],
) -> dict[str, Any]:
    """The format 2.0 event both builders return; ``identity`` holds the requestContext's
    authentication/authorizer entries and ``optional`` the top-level fields given, each
    already in the shape of the source that differs."""
    if not path.startswith("/"):
        raise EventBuilderError(f"path: {path!r} does not start with '/'")
    # On a named stage (not $default) API Gateway keeps the stage in the path it passes on.
    raw_path = path if stage == "$default" else f"/{stage}{path}"
    added = {
        "host": domain_name,
        "user-agent": user_agent,
        "x-forwarded-for": source_ip,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    text: str | None = None
    encoded = False
    if body is not None:
        text, encoded, as_json, length = _body(body, is_base64_encoded)
        added["content-length"] = str(length)
        if as_json:
            added["content-type"] = "application/json"
    header_map, header_cookies = _headers(headers, added)
    all_cookies = _values(list(cookies or ()), "cookies") + header_cookies
    raw_query, parameters = _query(query or {})
    epoch = now_ms() if time_epoch_ms is None else time_epoch_ms
    event: dict[str, Any] = {"version": "2.0", "routeKey": route_key, "rawPath": raw_path}
    event["rawQueryString"] = raw_query
    if all_cookies:
        event["cookies"] = all_cookies
    event["headers"] = header_map
    if parameters:
        event["queryStringParameters"] = parameters
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        **identity,
        "domainName": domain_name,
        "domainPrefix": api_id,
        "http": {
            "method": method.upper(),
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": user_agent,
        },
        "requestId": str(uuid.uuid4()) if request_id is None else request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": _request_time(epoch),
        "timeEpoch": epoch,
    }
    if text is not None:
        event["body"] = text
    event.update(optional)
    event["isBase64Encoded"] = encoded
    return event


def http_api_event(
    body: Any = None,
    *,
    method: str = "POST",
    path: str = "/",
    headers: Mapping[str, HeaderValues] | None = None,
    query: Mapping[str, HeaderValues] | None = None,
    cookies: Sequence[str] | None = None,
    path_parameters: Mapping[str, str] | None = None,
    stage_variables: Mapping[str, str] | None = None,
    route_key: str | None = None,
    stage: str = "$default",
    is_base64_encoded: bool | None = None,
    authorizer: Mapping[str, Any] | None = None,
    client_cert: Mapping[str, Any] | None = None,
    source_ip: str = DEFAULT_SOURCE_IP,
    user_agent: str = DEFAULT_USER_AGENT,
    request_id: str | None = None,
    time_epoch_ms: int | None = None,
    api_id: str = DEFAULT_API_ID,
    account_id: str = DEFAULT_ACCOUNT,
    region: str | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API event, payload format 2.0, as the Lambda integration delivers it.

    ``body``: a ``str`` is sent as it is, ``bytes`` base64-encoded (``isBase64Encoded`` true, as
    for a binary request), anything else as JSON with a JSON ``content-type``. Header names are
    lower-cased and a list of values comma-joined; ``query`` values that are lists are repeated in
    ``rawQueryString`` and comma-joined in ``queryStringParameters``; cookies go to ``cookies``,
    never to ``headers``. Fields not given are left out, as API Gateway leaves them out.
    ``client_cert``: the caller's certificate on a custom domain with mutual TLS, as
    ``requestContext.authentication.clientCert`` (``clientCertPem``, ``subjectDN``,
    ``issuerDN``, ``serialNumber``, ``validity``).
    """
    region = region_or_default(region)
    optional: dict[str, Any] = {}
    if path_parameters is not None:
        optional["pathParameters"] = dict(path_parameters)
    if stage_variables is not None:
        optional["stageVariables"] = dict(stage_variables)
    identity: dict[str, Any] = {}
    if client_cert is not None:
        identity["authentication"] = {"clientCert": copy.deepcopy(dict(client_cert))}
    if authorizer is not None:
        identity["authorizer"] = copy.deepcopy(dict(authorizer))
    return _http_event(
        body,
        method=method,
        path=path,
        headers=headers,
        query=query,
        cookies=cookies,
        is_base64_encoded=is_base64_encoded,
        source_ip=source_ip,
        user_agent=user_agent,
        request_id=request_id,
        time_epoch_ms=time_epoch_ms,
        account_id=account_id,
        api_id=api_id,
        domain_name=f"{api_id}.execute-api.{region}.amazonaws.com",
        route_key="$default" if route_key is None else route_key,
        stage=stage,
        identity=identity,
        optional=optional,
    )


def _iam_caller(iam: Mapping[str, Any]) -> dict[str, Any]:
    """The ``iam`` authorizer of an AWS_IAM function URL, completed around what the test gave."""
    account = str(iam.get("accountId", DEFAULT_ACCOUNT))
    caller: dict[str, Any] = {
        "accessKey": "AKIAIOSFODNN7EXAMPLE",
        "accountId": account,
        "callerId": "AIDACKCEVSQ6C2EXAMPLE",
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": f"arn:aws:iam::{account}:user/test-user",
        "userId": "AIDACKCEVSQ6C2EXAMPLE",
    }
    caller.update(copy.deepcopy(dict(iam)))
    return caller


def function_url_event(
    body: Any = None,
    *,
    method: str = "POST",
    path: str = "/",
    headers: Mapping[str, HeaderValues] | None = None,
    query: Mapping[str, HeaderValues] | None = None,
    cookies: Sequence[str] | None = None,
    is_base64_encoded: bool | None = None,
    iam: Mapping[str, Any] | None = None,
    source_ip: str = DEFAULT_SOURCE_IP,
    user_agent: str = DEFAULT_USER_AGENT,
    request_id: str | None = None,
    time_epoch_ms: int | None = None,
    url_id: str = DEFAULT_URL_ID,
    account_id: str = DEFAULT_ACCOUNT,
    region: str | None = None,
) -> dict[str, Any]:
    """A Lambda function URL event: :func:`http_api_event`'s format 2.0 shape, as Lambda fills it.

    ``routeKey`` and ``stage`` are always ``$default`` and ``authentication`` is null, as Lambda
    sets them; the URL id is ``apiId`` and ``domainPrefix``, in the domain
    ``<url-id>.lambda-url.<region>.on.aws``.
    ``authorizer`` is null (auth type ``NONE``) unless ``iam`` is given: then it is
    ``{"iam": {...}}``, the given fields over a complete example caller (``iam={}`` is enough).
    """
    region = region_or_default(region)
    identity = {
        "authentication": None,
        "authorizer": None if iam is None else {"iam": _iam_caller(iam)},
    }
    return _http_event(
        body,
        method=method,
        path=path,
        headers=headers,
        query=query,
        cookies=cookies,
        is_base64_encoded=is_base64_encoded,
        source_ip=source_ip,
        user_agent=user_agent,
        request_id=request_id,
        time_epoch_ms=time_epoch_ms,
        account_id=account_id,
        api_id=url_id,
        domain_name=f"{url_id}.lambda-url.{region}.on.aws",
        route_key="$default",
        stage="$default",
        identity=identity,
        optional={},
    )
