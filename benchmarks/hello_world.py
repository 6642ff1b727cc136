"""The baseline of benchmarks/service.py: FastAPI's hello-world and nothing else, served the way
`python -m authservice serve` serves the auth service (authservice.admin.serving, uvicorn, no
access log).

    python benchmarks/hello_world.py --port 8002 --workers 4
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI

from authservice.admin.serving import run_server


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def root() -> dict[str, str]:
        return {"message": "Hello World"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    run_server(
        "hello_world:create_app",
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        announce=lambda host, port: print(f"hello-world: http://{host}:{port}/", flush=True),
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
