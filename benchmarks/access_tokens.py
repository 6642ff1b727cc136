"""What an application's backend pays to know who is calling: verifying an access token by itself
(the example backend's verifier, warm JWKS) against asking the auth service `GET /v1/me`.

    .venv/bin/python benchmarks/access_tokens.py [--rounds 2000] [--calls 300]

In one run, against one auth service started here on SQLite:
- the CPU time (this process's, `time.process_time`) of `AccessTokenVerifier.authenticate` as
  examples/app_backend configures it, for a bearer token and for a device-bound token with a fresh
  DPoP proof each time (two ES256 verifications, the proof's checks and its replay cache), and of
  the bearer token's signature check alone (OpenSSL's share: the floor);
- over HTTP on a kept-alive connection, each answer read: `GET /api/whoami` of the example backend,
  run as its own process, against `GET /v1/me` of the auth service: the wall time per call, and
  the CPU time the answering server spent per call (from /proc: Linux only, else left out).

It prints figures and asserts nothing. The tests hold the checks (tests/backend).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from authclient import MemoryStorage, SessionClient
from authclient.ec_signer import EcDeviceSigner
from authclient.verifier import AccessTokenVerifier
from authclient.verifier.jose import read_jws, verify_es256
from harness.processes import AuthServiceProcess, ServerProcess, free_port
from sitebuild.paths import ROOT

PASSWORD = "benchmark password"
BACKEND = ROOT / "examples" / "app_backend" / "app.py"
WHOAMI = "/api/whoami"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000, help="verifications of each kind")
    parser.add_argument("--calls", type=int, default=300, help="HTTP calls of each kind")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir, AuthServiceProcess(Path(data_dir)) as auth:
        application = auth.ensure_application("benchmark")
        issuer = auth.url + "/v1"
        bearer = signed_in(issuer, application.key, None)
        bound = signed_in(issuer, application.key, EcDeviceSigner())
        backend_port = free_port()
        backend_url = f"http://127.0.0.1:{backend_port}"
        command = [sys.executable, str(BACKEND), "--issuer", issuer]
        command += ["--audience", application.key, "--public-url", backend_url]
        command += ["--port", str(backend_port)]
        with ServerProcess(command, url=backend_url, ready_url=backend_url + WHOAMI) as backend:
            verifier = AccessTokenVerifier(issuer=issuer, audience=application.key)
            cpu = verification_cpu_ms(verifier, bearer, bound, backend_url, args.rounds)
            # What a backend must hold to ask /v1/me: the session's secret (an unbound session).
            me_headers = dict(bearer.session_request("GET", "/me").headers)
            me = http_calls(auth, issuer + "/me", me_headers, args.calls)
            token_headers = {"Authorization": bearer.get_access_token().authorization}
            whoami = http_calls(backend, backend_url + WHOAMI, token_headers, args.calls)

    print(f"verifying one access token in the backend's process, warm JWKS, {args.rounds} each")
    for name, ms in cpu.items():
        print(f"  {name:<34} {ms:7.3f} ms CPU")
    print(f"over HTTP, kept-alive connection, {args.calls} calls each (medians)")
    for name, (wall_ms, server_cpu_ms) in (
        ("GET /api/whoami (example backend)", whoami),
        ("GET /v1/me (auth service)", me),
    ):
        server = f"   server CPU {server_cpu_ms:6.3f} ms/call" if server_cpu_ms is not None else ""
        print(f"  {name:<34} {wall_ms:7.3f} ms wall{server}")


def signed_in(issuer: str, application_key: str, signer: EcDeviceSigner | None) -> SessionClient:
    client = SessionClient(application_key, issuer, storage=MemoryStorage(), signer=signer)
    name = f"bench-{time.monotonic_ns() % 10**9}"
    client.new_user({"username": name, "password": PASSWORD})
    client.start({"username": name, "password": PASSWORD})
    return client


def verification_cpu_ms(
    verifier: AccessTokenVerifier,
    bearer: SessionClient,
    bound: SessionClient,
    backend_url: str,
    rounds: int,
) -> dict[str, float]:
    url = backend_url + WHOAMI
    bearer_token = bearer.get_access_token()
    bound_token = bound.get_access_token()
    # Proofs are made before the clock starts: making them is the page's work, not the backend's.
    proofs = [bound.make_dpop_proof("GET", url, bound_token) for _ in range(rounds)]
    verifier.authenticate(
        authorization=bearer_token.authorization, dpop=None, method="GET", url=url
    )

    def bearer_once(_: int) -> None:
        verifier.authenticate(
            authorization=bearer_token.authorization, dpop=None, method="GET", url=url
        )

    def bound_once(index: int) -> None:
        verifier.authenticate(
            authorization=bound_token.authorization, dpop=proofs[index], method="GET", url=url
        )

    # The floor: the one ES256 signature check of a bearer token, by `cryptography` (OpenSSL).
    header, _, signing_input, signature = read_jws(bearer_token.token)
    _, key = verifier.jwks.key(str(header["kid"]))

    def signature_once(_: int) -> None:
        verify_es256(key, signing_input, signature)

    return {
        "Bearer token": cpu_ms_per_call(bearer_once, rounds),
        "DPoP-bound token and its proof": cpu_ms_per_call(bound_once, rounds),
        "(its ES256 signature check alone)": cpu_ms_per_call(signature_once, rounds),
    }


def cpu_ms_per_call(call: Callable[[int], None], rounds: int) -> float:
    started = time.process_time()
    for index in range(rounds):
        call(index)
    return (time.process_time() - started) * 1000 / rounds


def http_calls(
    server: ServerProcess, url: str, headers: dict[str, str], calls: int
) -> tuple[float, float | None]:
    """The median wall time of one call, and the server's CPU time per call."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    times: list[float] = []
    try:
        for _ in range(3):  # warm: connection, caches, the JWKS
            connection.request("GET", parts.path, headers=headers)
            connection.getresponse().read()
        cpu_before = process_cpu_s(server.pid)
        for _ in range(calls):
            started = time.perf_counter()
            connection.request("GET", parts.path, headers=headers)
            response = connection.getresponse()
            response.read()
            times.append(time.perf_counter() - started)
            if response.status != 200:
                raise SystemExit(f"{url} answered {response.status}")
        cpu_after = process_cpu_s(server.pid)
    finally:
        connection.close()
    server_cpu = (
        (cpu_after - cpu_before) * 1000 / calls
        if cpu_before is not None and cpu_after is not None
        else None
    )
    return statistics.median(times) * 1000, server_cpu


def process_cpu_s(pid: int | None) -> float | None:
    """User plus system CPU seconds of a running process, from /proc (None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()
