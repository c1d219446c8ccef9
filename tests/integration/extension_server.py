"""Local HTTP servers that follow the documented APIs of two Lambda extensions.

- :class:`SecretsExtension`: the AWS Parameters and Secrets Lambda Extension.
  ``GET /secretsmanager/get?secretId=..[&versionStage=..|&versionId=..]`` answers what
  Secrets Manager's GetSecretValue answers (JSON; ``SecretBinary`` base64-encoded);
  ``GET /systemsmanager/parameters/get?name=..[&withDecryption=true]`` answers what SSM's
  GetParameter answers (``{"Parameter": {...}}``; a SecureString read without decryption is
  ciphertext). Every request must carry ``X-Aws-Parameters-Secrets-Token`` equal to the
  function's ``AWS_SESSION_TOKEN`` (401 otherwise). While the extension starts it answers
  HTTP 400 "not ready to serve traffic, please wait" (``not_ready`` requests here). A missing
  secret or parameter is HTTP 404 (``not_found_status``; the extension relays the service's
  400 with ``ResourceNotFoundException``/``ParameterNotFound`` when set to 400).
- :class:`AppConfigExtension`: the AWS AppConfig Lambda extension,
  ``GET /applications/{app}/environments/{env}/configurations/{profile}`` answering the
  configuration's bytes with its content type.

Both run on 127.0.0.1 on a free port, in a thread, record every request, can fail on demand
(``fail_with`` an HTTP status) and can hold requests back (``hold``) for single-flight tests.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
NOT_READY = "not ready to serve traffic, please wait"


class Request:
    __slots__ = ("headers", "path", "query")

    def __init__(self, path: str, query: dict[str, str], headers: dict[str, str]) -> None:
        self.path = path
        self.query = query
        self.headers = headers  # names in lower case: HTTP header names ignore case

    def __repr__(self) -> str:
        return f"Request({self.path!r}, {self.query!r})"


Answer = tuple[int, dict[str, str], bytes]


class _Server:
    """What both extensions share: the HTTP server, the request log, failures, holding."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.not_ready = 0  # answer this many requests "not ready" first
        self.fail_with: int | None = None  # answer every request with this status
        self.hold: Callable[[Request], bool] | None = None  # requests to hold back...
        self.release = threading.Event()  # ...until this is set
        self.held = threading.Event()  # set when a request is being held
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def start(self) -> _Server:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if path in (None, r.path))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, headers, body = server._dispatch(self)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        return Handler

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> Answer:
        url = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        headers = {name.lower(): value for name, value in handler.headers.items()}
        request = Request(url.path, query, headers)
        with self._lock:
            self.requests.append(request)
            not_ready = self.not_ready > 0
            if not_ready:
                self.not_ready -= 1
        if not_ready:
            return _text(400, NOT_READY)
        if self.hold is not None and self.hold(request):
            self.held.set()
            if not self.release.wait(10):
                return _text(500, "held too long")
        if self.fail_with is not None:
            return _json(self.fail_with, {"__type": "InternalServiceError", "message": "boom"})
        return self.answer(request)

    def answer(self, request: Request) -> Answer:
        raise NotImplementedError


def _json(status: int, document: Any) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(document).encode()


def _text(status: int, text: str) -> Answer:
    return status, {"Content-Type": "text/plain"}, text.encode()


class SecretsExtension(_Server):
    """The Parameters and Secrets Lambda Extension (see the module docstring)."""

    def __init__(self, token: str = "session-token") -> None:
        super().__init__()
        self.token = token
        self.not_found_status = 404
        # name -> {"versions": {id: value}, "stages": {stage: id}}
        self.secrets: dict[str, dict[str, dict[str, Any]]] = {}
        self.parameters: dict[str, tuple[str, str]] = {}  # name -> (value, type)
        self._versions = 0

    def put_secret(self, name: str, value: str | bytes) -> str:
        """A new AWSCURRENT version (the old one becomes AWSPREVIOUS), as PutSecretValue."""
        secret = self.secrets.setdefault(name, {"versions": {}, "stages": {}})
        self._versions += 1
        version = f"{self._versions:08d}-0000-4000-8000-000000000000"
        secret["versions"][version] = value
        if "AWSCURRENT" in secret["stages"]:
            secret["stages"]["AWSPREVIOUS"] = secret["stages"]["AWSCURRENT"]
        secret["stages"]["AWSCURRENT"] = version
        return version

    def put_parameter(self, name: str, value: str, kind: str = "SecureString") -> None:
        self.parameters[name] = (value, kind)

    def answer(self, request: Request) -> Answer:
        if request.headers.get(TOKEN_HEADER.lower()) != self.token:
            return _text(401, "Unauthorized: missing or invalid " + TOKEN_HEADER)
        if request.path == "/secretsmanager/get":
            return self._secret(request.query)
        if request.path == "/systemsmanager/parameters/get":
            return self._parameter(request.query)
        return _text(404, "no such route")

    def _not_found(self, code: str, message: str) -> Answer:
        return _json(self.not_found_status, {"__type": code, "message": message})

    def _lookup(self, name: str, stage: str | None, version: str | None) -> tuple[str, Any] | None:
        secret = self.secrets.get(name)
        if secret is None:
            return None
        if version is None:
            version = secret["stages"].get(stage or "AWSCURRENT")
        elif stage is not None and secret["stages"].get(stage) != version:
            return None
        if version is None or version not in secret["versions"]:
            return None
        return version, secret["versions"][version]

    def _secret(self, query: dict[str, str]) -> Answer:
        name = query.get("secretId")
        if not name:
            return _json(400, {"__type": "ValidationException", "message": "secretId missing"})
        found = self._lookup(name, query.get("versionStage"), query.get("versionId"))
        if found is None:
            message = "Secrets Manager can't find the specified secret."
            return self._not_found("ResourceNotFoundException", message)
        version, value = found
        stages = [s for s, v in self.secrets[name]["stages"].items() if v == version]
        document: dict[str, Any] = {
            "ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf",
            "Name": name,
            "VersionId": version,
            "VersionStages": stages,
            "CreatedDate": "2024-01-01T00:00:00.000Z",
        }
        if isinstance(value, bytes):
            document["SecretBinary"] = base64.b64encode(value).decode()
        else:
            document["SecretString"] = value
        return _json(200, document)

    def _parameter(self, query: dict[str, str]) -> Answer:
        name = unquote(query.get("name", ""))
        decrypt = query.get("withDecryption", "false").lower() == "true"
        reference = "/aws/reference/secretsmanager/"
        if name.startswith(reference):
            found = self._lookup(name[len(reference) :], None, None)
            if found is None:
                return self._not_found("ParameterNotFound", f"Parameter {name} not found.")
            raw = found[1]
            value, kind = (raw.decode() if isinstance(raw, bytes) else raw), "SecureString"
        elif name in self.parameters:
            value, kind = self.parameters[name]
        else:
            return self._not_found("ParameterNotFound", f"Parameter {name} not found.")
        if kind == "SecureString" and not decrypt:
            value = "AQICAHh" + base64.b64encode(b"ciphertext-of-" + name.encode()).decode()
        document = {
            "Parameter": {
                "ARN": f"arn:aws:ssm:us-east-1:123456789012:parameter{name}",
                "DataType": "text",
                "LastModifiedDate": "2024-01-01T00:00:00.000Z",
                "Name": name,
                "Selector": None,
                "SourceResult": None,
                "Type": kind,
                "Value": value,
                "Version": 1,
            },
            "ResultMetadata": {},
        }
        return _json(200, document)


class AppConfigExtension(_Server):
    """The AppConfig Lambda extension's configuration endpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.configurations: dict[tuple[str, str, str], tuple[bytes, str]] = {}

    def put_configuration(
        self,
        application: str,
        environment: str,
        profile: str,
        content: bytes,
        content_type: str = "application/json",
    ) -> None:
        self.configurations[application, environment, profile] = (content, content_type)

    def answer(self, request: Request) -> Answer:
        parts = [unquote(p) for p in request.path.strip("/").split("/")]
        if (
            len(parts) != 6
            or parts[0] != "applications"
            or parts[2] != "environments"
            or parts[4] != "configurations"
        ):
            return _text(404, "no such route")
        found = self.configurations.get((parts[1], parts[3], parts[5]))
        if found is None:
            return _json(404, {"Message": "ResourceNotFoundException: no such configuration"})
        content, content_type = found
        return 200, {"Content-Type": content_type}, content
