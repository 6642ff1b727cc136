"""An application's own backend, in a few dozen lines: it knows who is calling from the access
token the page sends (and, for a device-bound session, the DPoP proof), with no call to the auth
service per request, only its published keys (authclient.verifier).

    python examples/app_backend/app.py --issuer http://127.0.0.1:8001/v1 \\
        --audience app_… --public-url http://127.0.0.1:8002 --port 8002

`python3 build.py serve` runs it beside the auth service, on the page's origin under /api/.
"""

# No `from __future__ import annotations`: FastAPI reads the route's annotations as it is defined,
# and they name `caller`, made inside create_backend.
import argparse
from typing import Annotated, Any

from fastapi import Depends, FastAPI

from authclient.verifier import AccessTokenVerifier, VerifiedToken
from authclient.verifier.fastapi import AccessTokenAuth

WHOAMI_PATH = "/api/whoami"


def create_backend(*, issuer: str, audience: str, public_url: str) -> FastAPI:
    """`issuer`: the auth service's public URL (/v1 included); `audience`: what its tokens must
    be for (the application key, or an audience the application registered); `public_url`: where
    this backend is reached (DPoP proofs name it)."""
    verifier = AccessTokenVerifier(issuer=issuer, audience=audience)
    caller = Depends(AccessTokenAuth(verifier, public_url=public_url))
    app = FastAPI(title="Example backend", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get(WHOAMI_PATH)
    def whoami(token: Annotated[VerifiedToken, caller]) -> dict[str, Any]:
        return {
            "userId": token.user_id,
            "applicationKey": token.application_key,
            "sessionId": token.session_id,
            "boundToDevice": token.bound,
            "tokenExpiresAt": token.expires_at_s,
        }

    @app.middleware("http")
    async def no_caching(request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers["Cache-Control"] = "no-store"  # answers about one user
        return response

    return app


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--audience", required=True)
    parser.add_argument("--public-url", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    args = parser.parse_args()
    backend = create_backend(issuer=args.issuer, audience=args.audience, public_url=args.public_url)
    uvicorn.run(backend, host=args.host, port=args.port)
