"""HTTP API (payload format 2.0) and function URL events are shaped exactly like AWS's samples.

The samples below are AWS's own, verbatim: the HTTP API one from the API Gateway developer guide
("Working with AWS Lambda proxy integrations for HTTP APIs", payload format 2.0, with the
lower-case header names of the current page) and the function URL one from the Lambda developer
guide ("Invoking Lambda function URLs", request payload). A built event must have the same keys,
the same value types and the same nesting, so a handler tested with it meets the real event.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl

import pytest

from lambdakit.errors import EventBuilderError
from lambdakit.testing import function_url_event, http_api_event

AWS_HTTP_API_SAMPLE: dict[str, Any] = json.loads(
    r"""
{
  "version": "2.0",
  "routeKey": "$default",
  "rawPath": "/my/path",
  "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
  "cookies": [
    "cookie1",
    "cookie2"
  ],
  "headers": {
    "header1": "value1",
    "header2": "value1,value2"
  },
  "queryStringParameters": {
    "parameter1": "value1,value2",
    "parameter2": "value"
  },
  "requestContext": {
    "accountId": "123456789012",
    "apiId": "api-id",
    "authentication": {
      "clientCert": {
        "clientCertPem": "CERT_CONTENT",
        "subjectDN": "www.example.com",
        "issuerDN": "Example issuer",
        "serialNumber": "a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1",
        "validity": {
          "notBefore": "May 28 12:30:02 2019 GMT",
          "notAfter": "Aug  5 09:36:04 2021 GMT"
        }
      }
    },
    "authorizer": {
      "jwt": {
        "claims": {
          "claim1": "value1",
          "claim2": "value2"
        },
        "scopes": [
          "scope1",
          "scope2"
        ]
      }
    },
    "domainName": "id.execute-api.us-east-1.amazonaws.com",
    "domainPrefix": "id",
    "http": {
      "method": "POST",
      "path": "/my/path",
      "protocol": "HTTP/1.1",
      "sourceIp": "IP",
      "userAgent": "agent"
    },
    "requestId": "id",
    "routeKey": "$default",
    "stage": "$default",
    "time": "12/Mar/2020:19:03:58 +0000",
    "timeEpoch": 1583348638390
  },
  "body": "Hello from Lambda",
  "pathParameters": {
    "parameter1": "value1"
  },
  "isBase64Encoded": false,
  "stageVariables": {
    "stageVariable1": "value1",
    "stageVariable2": "value2"
  }
}
"""
)
# The sample shows the jwt and lambda authorizers side by side for illustration; a real request
# has one authorizer. Only the jwt one is kept above. Its mutual-TLS `authentication` block is
# present only when the API requires client certificates (the builder's client_cert=).

AWS_FUNCTION_URL_SAMPLE: dict[str, Any] = json.loads(
    r"""
{
  "version": "2.0",
  "routeKey": "$default",
  "rawPath": "/my/path",
  "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
  "cookies": [
    "cookie1",
    "cookie2"
  ],
  "headers": {
    "header1": "value1",
    "header2": "value1,value2"
  },
  "queryStringParameters": {
    "parameter1": "value1,value2",
    "parameter2": "value"
  },
  "requestContext": {
    "accountId": "123456789012",
    "apiId": "<urlid>",
    "authentication": null,
    "authorizer": {
        "iam": {
                "accessKey": "AKIA...",
                "accountId": "111122223333",
                "callerId": "AIDA...",
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": "arn:aws:iam::111122223333:user/example-user",
                "userId": "AIDA..."
        }
    },
    "domainName": "<url-id>.lambda-url.us-west-2.on.aws",
    "domainPrefix": "<url-id>",
    "http": {
      "method": "POST",
      "path": "/my/path",
      "protocol": "HTTP/1.1",
      "sourceIp": "123.123.123.123",
      "userAgent": "agent"
    },
    "requestId": "id",
    "routeKey": "$default",
    "stage": "$default",
    "time": "12/Mar/2020:19:03:58 +0000",
    "timeEpoch": 1583348638390
  },
  "body": "Hello from client!",
  "pathParameters": null,
  "isBase64Encoded": false,
  "stageVariables": null
}
"""
)

# Free-form mappings: their keys are the caller's (header names, claims, parameters), so only
# their being a mapping of the right value type is compared, not their keys.
FREE_FORM = {"headers", "queryStringParameters", "pathParameters", "stageVariables", "claims"}


def assert_same_shape(built: Any, sample: Any, where: str = "event") -> None:
    """Same keys, same value types, same nesting; free-form mappings compared by value type."""
    if sample is None:
        assert built is None, f"{where}: {built!r} where AWS sends null"
        return
    assert type(built) is type(sample), f"{where}: {type(built).__name__}, AWS: {sample!r}"
    if isinstance(sample, dict):
        if where.rsplit(".", 1)[-1] in FREE_FORM:
            assert all(isinstance(value, str) for value in built.values()), where
            return
        assert sorted(built) == sorted(sample), where
        for key, value in sample.items():
            assert_same_shape(built[key], value, f"{where}.{key}")
    elif isinstance(sample, list):
        assert all(type(item) is type(sample[0]) for item in built), where


def sample_like_http_api_event() -> dict[str, Any]:
    return http_api_event(
        "Hello from Lambda",
        path="/my/path",
        headers={"Header1": "value1", "Header2": ["value1", "value2"]},
        query={"parameter1": ["value1", "value2"], "parameter2": "value"},
        cookies=["cookie1", "cookie2"],
        path_parameters={"parameter1": "value1"},
        stage_variables={"stageVariable1": "value1", "stageVariable2": "value2"},
        authorizer={"jwt": {"claims": {"claim1": "value1"}, "scopes": ["scope1", "scope2"]}},
        client_cert=AWS_HTTP_API_SAMPLE["requestContext"]["authentication"]["clientCert"],
    )


def sample_like_function_url_event() -> dict[str, Any]:
    return function_url_event(
        "Hello from client!",
        path="/my/path",
        headers={"header1": "value1", "header2": ["value1", "value2"]},
        query={"parameter1": ["value1", "value2"], "parameter2": "value"},
        cookies=["cookie1", "cookie2"],
        iam={"accountId": "111122223333"},
    )


class TestHttpApiEvent:
    def test_has_the_keys_types_and_nesting_of_aws_sample(self) -> None:
        assert_same_shape(sample_like_http_api_event(), AWS_HTTP_API_SAMPLE)

    def test_carries_the_values_of_aws_sample_where_the_same_request_is_described(self) -> None:
        event = sample_like_http_api_event()
        for key in ("version", "routeKey", "rawPath", "rawQueryString", "cookies", "body"):
            assert event[key] == AWS_HTTP_API_SAMPLE[key], key
        for key in ("queryStringParameters", "pathParameters", "stageVariables"):
            assert event[key] == AWS_HTTP_API_SAMPLE[key], key
        assert event["headers"]["header1"] == "value1"
        assert event["headers"]["header2"] == "value1,value2"
        assert event["isBase64Encoded"] is False

    def test_request_context_names_the_api_stage_route_and_caller(self) -> None:
        event = http_api_event(
            {"id": 1},
            method="put",
            path="/orders/7",
            route_key="PUT /orders/{id}",
            api_id="r3pmxmplak",
            account_id="111122223333",
            region="eu-west-1",
            source_ip="198.51.100.7",
            user_agent="curl/8.5.0",
            request_id="JKJaXmPLvHcESHA=",
            time_epoch_ms=1583348638390,
        )
        context = event["requestContext"]
        assert event["routeKey"] == context["routeKey"] == "PUT /orders/{id}"
        assert context["stage"] == "$default"
        assert context["accountId"] == "111122223333"
        assert context["apiId"] == context["domainPrefix"] == "r3pmxmplak"
        assert context["domainName"] == "r3pmxmplak.execute-api.eu-west-1.amazonaws.com"
        assert context["http"] == {
            "method": "PUT",
            "path": "/orders/7",
            "protocol": "HTTP/1.1",
            "sourceIp": "198.51.100.7",
            "userAgent": "curl/8.5.0",
        }
        assert context["requestId"] == "JKJaXmPLvHcESHA="
        assert context["timeEpoch"] == 1583348638390
        assert context["time"] == "04/Mar/2020:19:03:58 +0000"
        assert "authorizer" not in context
        assert "authentication" not in context

    def test_time_is_api_gateways_format_of_time_epoch(self) -> None:
        context = http_api_event()["requestContext"]
        assert isinstance(context["timeEpoch"], int)
        when = datetime.fromtimestamp(context["timeEpoch"] // 1000, tz=timezone.utc)
        assert context["time"] == when.strftime("%d/%b/%Y:%H:%M:%S +0000")
        assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["time"])

    def test_each_event_has_its_own_request_id(self) -> None:
        first, second = http_api_event(), http_api_event()
        assert first["requestContext"]["requestId"] != second["requestContext"]["requestId"]

    def test_region_defaults_to_the_lambda_runtime_region(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
        domain = http_api_event(api_id="abc123")["requestContext"]["domainName"]
        assert domain == "abc123.execute-api.ap-southeast-2.amazonaws.com"

    def test_a_named_stage_prefixes_the_path_as_api_gateway_does(self) -> None:
        event = http_api_event(path="/orders", stage="prod", route_key="POST /orders")
        assert event["requestContext"]["stage"] == "prod"
        assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/prod/orders"

    def test_authorizer_is_passed_through(self) -> None:
        jwt = {"jwt": {"claims": {"sub": "u-1"}, "scopes": None}}
        event = http_api_event(authorizer=jwt)
        assert event["requestContext"]["authorizer"] == jwt
        assert event["requestContext"]["authorizer"] is not jwt


class TestFunctionUrlEvent:
    def test_has_the_keys_types_and_nesting_of_aws_sample(self) -> None:
        sample = {
            key: value
            for key, value in AWS_FUNCTION_URL_SAMPLE.items()
            # "Lambda sets this to null or excludes this from the JSON": the builder excludes.
            if key not in ("pathParameters", "stageVariables")
        }
        assert_same_shape(sample_like_function_url_event(), sample)

    def test_route_key_and_stage_are_always_default_and_authentication_null(self) -> None:
        event = function_url_event(path="/orders")
        context = event["requestContext"]
        assert event["routeKey"] == context["routeKey"] == context["stage"] == "$default"
        assert context["authentication"] is None
        assert context["authorizer"] is None
        assert event["rawPath"] == context["http"]["path"] == "/orders"

    def test_the_url_id_names_the_api_and_the_lambda_url_domain(self) -> None:
        context = function_url_event(url_id="abcdefghij0123456789abcdefghij01", region="us-west-2")[
            "requestContext"
        ]
        assert context["apiId"] == context["domainPrefix"] == "abcdefghij0123456789abcdefghij01"
        assert (
            context["domainName"] == "abcdefghij0123456789abcdefghij01.lambda-url.us-west-2.on.aws"
        )

    def test_iam_caller_is_completed_into_aws_iam_authorizer_shape(self) -> None:
        authorizer = function_url_event(iam={"accountId": "111122223333"})["requestContext"][
            "authorizer"
        ]
        assert list(authorizer) == ["iam"]
        iam = authorizer["iam"]
        assert sorted(iam) == sorted(AWS_FUNCTION_URL_SAMPLE["requestContext"]["authorizer"]["iam"])
        assert iam["accountId"] == "111122223333"
        assert iam["userArn"].startswith("arn:aws:iam::111122223333:")
        assert iam["cognitoIdentity"] is None

    def test_has_no_route_key_stage_or_api_gateway_only_parameters(self) -> None:
        import inspect

        parameters = set(inspect.signature(function_url_event).parameters)
        assert {"route_key", "stage", "api_id", "authorizer"}.isdisjoint(parameters)
        assert {"path_parameters", "stage_variables"}.isdisjoint(parameters)


BUILDERS = [http_api_event, function_url_event]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda build: build.__name__)
class TestBothBuilders:
    def test_a_str_body_is_sent_as_it_is(self, build: Any) -> None:
        event = build("name=a&x=1")
        assert event["body"] == "name=a&x=1"
        assert event["isBase64Encoded"] is False

    def test_a_bytes_body_is_base64_encoded(self, build: Any) -> None:
        event = build(b"\x89PNG\x00\xff")
        assert event["isBase64Encoded"] is True
        assert base64.b64decode(event["body"]) == b"\x89PNG\x00\xff"

    def test_any_other_body_is_json_with_a_json_content_type(self, build: Any) -> None:
        event = build({"order_id": "o-1", "qty": 2})
        assert json.loads(event["body"]) == {"order_id": "o-1", "qty": 2}
        assert event["isBase64Encoded"] is False
        assert event["headers"]["content-type"] == "application/json"
        assert event["headers"]["content-length"] == str(len(event["body"].encode()))

    def test_a_given_content_type_is_kept(self, build: Any) -> None:
        event = build({"a": 1}, headers={"Content-Type": "application/vnd.api+json"})
        assert event["headers"]["content-type"] == "application/vnd.api+json"

    def test_is_base64_encoded_true_encodes_a_text_body(self, build: Any) -> None:
        event = build("hello", is_base64_encoded=True)
        assert event["isBase64Encoded"] is True
        assert base64.b64decode(event["body"]) == b"hello"

    def test_is_base64_encoded_false_sends_bytes_as_utf8_text(self, build: Any) -> None:
        event = build("é".encode(), is_base64_encoded=False)
        assert event["body"] == "é"
        assert event["isBase64Encoded"] is False

    def test_a_body_that_cannot_be_json_names_the_parameter(self, build: Any) -> None:
        with pytest.raises(EventBuilderError, match=r"^body: cannot be encoded as JSON"):
            build({"when": object()})

    def test_no_body_means_no_body_key(self, build: Any) -> None:
        event = build(method="GET")
        assert "body" not in event
        assert event["isBase64Encoded"] is False
        assert "content-length" not in event["headers"]

    def test_absent_fields_are_omitted_not_null(self, build: Any) -> None:
        event = build()
        for key in ("cookies", "queryStringParameters", "pathParameters", "stageVariables"):
            assert key not in event, key
        assert event["rawQueryString"] == ""

    def test_header_names_are_lower_cased_and_repeated_values_comma_joined(
        self, build: Any
    ) -> None:
        event = build(
            headers={"Idempotency-Key": "k-1", "X-Tag": ["a", "b"], "x-tag": "c"},
        )
        assert event["headers"]["idempotency-key"] == "k-1"
        assert event["headers"]["x-tag"] == "a,b,c"
        assert all(name == name.lower() for name in event["headers"])

    def test_headers_api_gateway_adds_are_present_and_can_be_overridden(self, build: Any) -> None:
        event = build(
            source_ip="198.51.100.7", user_agent="k6/0.49", headers={"X-Forwarded-Port": "8443"}
        )
        headers = event["headers"]
        assert headers["host"] == event["requestContext"]["domainName"]
        assert headers["user-agent"] == "k6/0.49"
        assert headers["x-forwarded-for"] == "198.51.100.7"
        assert headers["x-forwarded-proto"] == "https"
        assert headers["x-forwarded-port"] == "8443"

    def test_query_lists_are_comma_joined_and_repeated_in_the_raw_query_string(
        self, build: Any
    ) -> None:
        event = build(query={"tag": ["a b", "c&d"], "q": "ü"})
        assert event["queryStringParameters"] == {"tag": "a b,c&d", "q": "ü"}
        assert event["rawQueryString"] == "tag=a%20b&tag=c%26d&q=%C3%BC"
        assert parse_qsl(event["rawQueryString"]) == [("tag", "a b"), ("tag", "c&d"), ("q", "ü")]

    def test_cookies_are_their_own_field_and_not_a_header(self, build: Any) -> None:
        event = build(cookies=["session=s-1", "theme=dark"])
        assert event["cookies"] == ["session=s-1", "theme=dark"]
        assert "cookie" not in event["headers"]

    def test_a_cookie_header_is_moved_into_cookies(self, build: Any) -> None:
        event = build(headers={"Cookie": "a=1; b=2"}, cookies=["c=3"])
        assert event["cookies"] == ["c=3", "a=1", "b=2"]
        assert "cookie" not in event["headers"]

    def test_the_method_is_upper_case(self, build: Any) -> None:
        assert build(method="delete")["requestContext"]["http"]["method"] == "DELETE"

    def test_a_path_without_a_leading_slash_is_refused(self, build: Any) -> None:
        with pytest.raises(EventBuilderError, match=r"^path: 'orders' does not start with '/'"):
            build(path="orders")

    def test_a_header_value_that_is_not_text_is_refused(self, build: Any) -> None:
        with pytest.raises(EventBuilderError, match=r"^headers\['x-n'\]: 3 is not a str"):
            build(headers={"X-N": 3})

    def test_the_event_is_json_serialisable(self, build: Any) -> None:
        event = build({"a": 1}, cookies=["c=1"], query={"q": ["1", "2"]})
        assert json.loads(json.dumps(event)) == event


@pytest.mark.parametrize(
    ("build", "model_name"),
    [
        (sample_like_http_api_event, "APIGatewayProxyEventV2Model"),
        (lambda: http_api_event(), "APIGatewayProxyEventV2Model"),
        (lambda: http_api_event(b"\x00", method="PUT"), "APIGatewayProxyEventV2Model"),
        (sample_like_function_url_event, "LambdaFunctionUrlModel"),
        (lambda: function_url_event(method="GET"), "LambdaFunctionUrlModel"),
    ],
    ids=["http-api-full", "http-api-minimal", "http-api-binary", "url-full", "url-minimal"],
)
def test_powertools_parser_models_accept_the_built_events(build: Any, model_name: str) -> None:
    models = pytest.importorskip("aws_lambda_powertools.utilities.parser.models")
    event = build()
    parsed = getattr(models, model_name).model_validate(event)
    assert parsed.rawPath == event["rawPath"]
    assert parsed.requestContext.http.method == event["requestContext"]["http"]["method"]


def test_a_client_certificate_is_the_request_contexts_authentication_as_in_aws_sample() -> None:
    cert = {
        "clientCertPem": "CERT_CONTENT",
        "subjectDN": "www.example.com",
        "issuerDN": "Example issuer",
        "serialNumber": "a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1:a1",
        "validity": {
            "notBefore": "May 28 12:30:02 2019 GMT",
            "notAfter": "Aug  5 09:36:04 2021 GMT",
        },
    }
    event = http_api_event(client_cert=cert)
    assert event["requestContext"]["authentication"] == {"clientCert": cert}
    assert event["requestContext"]["authentication"]["clientCert"] is not cert  # a copy
    assert "authentication" not in http_api_event()["requestContext"]
