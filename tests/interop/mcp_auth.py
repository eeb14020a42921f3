"""The official MCP Python SDK (`mcp`) gets its own access token from the Portcullis token
endpoint and calls a tool through the gateway, with no token handed to it.

    CLIENT_ID=<agent id> CLIENT_SECRET=<its client secret> \
    JWT_CLIENT_ID=<agent id> JWT_KEY_SEED=<base64 of its Ed25519 private key (32 bytes)> \
        python mcp_auth.py URL --issuer ISSUER --echo TOOL

The client-credentials flows of the SDK do the whole dance: the gateway answers 401 with its
Protected Resource Metadata, which names the authorization server; the SDK reads its metadata,
requests a token (a client secret with HTTP Basic, or a JWT assertion it signs with the
agent's Ed25519 key, RFC 7523) and retries with it. Each flow then calls TOOL (server-
everything's `echo`) and checks the answer.

Prints one line per check and ends with `N passed, N failed`; exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import traceback
import uuid

import anyio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.auth.extensions.client_credentials import (
    ClientCredentialsOAuthProvider,
    PrivateKeyJWTOAuthProvider,
    SignedJWTParameters,
)
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp_types import TextContent


class Memory(TokenStorage):
    """Tokens kept for this run only; counts how many the flow stored."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None
        self.stored = 0

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.stored += 1

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def texts(result: object) -> list[str]:
    return [c.text for c in getattr(result, "content", []) if isinstance(c, TextContent)]


async def call_with(provider: OAuthClientProvider, storage: Memory, url: str, tool: str) -> None:
    http = create_mcp_http_client(auth=provider)
    async with (
        http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write, read_timeout_seconds=20) as session,
    ):
        await session.initialize()
        listed = await session.list_tools()
        assert tool in [t.name for t in listed.tools], f"{tool} not in {[t.name for t in listed.tools]}"
        message = f"auth {uuid.uuid4()}"
        result = await session.call_tool(tool, {"message": message})
        assert not result.is_error, f"isError: {texts(result)}"
        assert any(message in t for t in texts(result)), f"{message!r} not in {texts(result)}"
    assert storage.stored >= 1, "the SDK stored no token from the token endpoint"
    token = storage.tokens
    assert token is not None and token.token_type.lower() == "bearer", token
    assert token.expires_in is not None and 0 < token.expires_in <= 300, f"expires_in {token.expires_in}"


async def main(args: argparse.Namespace) -> int:
    passed = failed = 0

    async def check(name: str, run) -> None:
        nonlocal passed, failed
        try:
            with anyio.fail_after(args.timeout):
                await run()
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the run
            failed += 1
            print(f"FAIL {name}: {type(exc).__name__}: {exc}", flush=True)
            traceback.print_exc()
        else:
            passed += 1
            print(f"ok   {name}", flush=True)

    async def with_secret() -> None:
        storage = Memory()
        provider = ClientCredentialsOAuthProvider(
            server_url=args.url,
            storage=storage,
            client_id=os.environ["CLIENT_ID"],
            client_secret=os.environ["CLIENT_SECRET"],
            issuer=args.issuer,
        )
        await call_with(provider, storage, args.url, args.echo)

    async def with_assertion() -> None:
        seed = base64.b64decode(os.environ["JWT_KEY_SEED"])
        pem = (
            Ed25519PrivateKey.from_private_bytes(seed)
            .private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            .decode()
        )
        client_id = os.environ["JWT_CLIENT_ID"]
        signed = SignedJWTParameters(
            issuer=client_id, subject=client_id, signing_key=pem, signing_algorithm="EdDSA", lifetime_seconds=120
        )
        storage = Memory()
        provider = PrivateKeyJWTOAuthProvider(
            server_url=args.url,
            storage=storage,
            client_id=client_id,
            assertion_provider=signed.create_assertion_provider(),
            issuer=args.issuer,
        )
        await call_with(provider, storage, args.url, args.echo)

    async def wrong_secret() -> None:
        storage = Memory()
        provider = ClientCredentialsOAuthProvider(
            server_url=args.url,
            storage=storage,
            client_id=os.environ["CLIENT_ID"],
            client_secret="not-the-secret",
            issuer=args.issuer,
        )
        try:
            await call_with(provider, storage, args.url, args.echo)
        except Exception as exc:  # noqa: BLE001 - any refusal will do; a success will not
            assert storage.tokens is None, "a token was stored for a wrong secret"
            print(f"     refused as expected: {type(exc).__name__}", flush=True)
            return
        raise AssertionError("a wrong client secret got through")

    await check("client_credentials with a client secret (HTTP Basic), then tools/call", with_secret)
    await check("client_credentials with an EdDSA JWT assertion (RFC 7523), then tools/call", with_assertion)
    await check("a wrong client secret gets no token and no call", wrong_secret)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--echo", required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    sys.exit(anyio.run(main, parser.parse_args()))
