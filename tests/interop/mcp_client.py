"""Drives the Portcullis MCP gateway with the official MCP Python SDK (`mcp`, pinned in
requirements.txt) and checks what a real client sees.

    MCP_TOKEN=<agent token> python mcp_client.py URL [--allowed A,B] [--echo A]... \
        [--denied C]... [--denied-arguments JSON] [--invalid A]... [--progress D] \
        [--survive-restart A --handshake DIR] [--server-name portcullis]

--allowed      the exact set of tool names tools/list must return (policy-filtered)
--echo         a tool that echoes `message` (server-everything's `echo`): called, answer checked
--denied       a tool registered but not granted: tools/call (with --denied-arguments, valid
               for it) must fail with -32602, like an unknown tool
--invalid      a tool whose registered schema requires `message` (a string): called with a
               number, it must answer a result with isError true
--progress     server-everything's `trigger-long-running-operation`: its progress notifications
               must reach the client one by one, before the result (not buffered)
--elicit       server-everything's `trigger-elicitation-request` (repeatable): all are called at
               once; each asks the client for input during the call (a server-to-client request
               through the gateway), the client answers with a non-ASCII name, and each result
               must carry it
--survive-restart, --handshake
               call the echo tool A, create DIR/ready, wait for DIR/restarted (the test restarts
               A's upstream in between), then call A again in the same session: it must work,
               at the latest on the second attempt, and a failed attempt must be a JSON-RPC
               -32011 (upstream error) answer
--server-name  the serverInfo.name initialize must report

Prints one line per check and ends with `N passed, N failed`; exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import ElicitResult, TextContent
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

INVALID_PARAMS = -32602
UPSTREAM_ERROR = -32011
# Multi-byte UTF-8 on purpose: it crosses the gateway's event streams in both directions.
ELICITED_NAME = "Zoë Łódź-Ærøskøbing ✓"


class Elicitations:
    """Answers every elicitation request with ELICITED_NAME and counts them."""

    def __init__(self) -> None:
        self.answered = 0

    async def __call__(self, context: object, params: object) -> ElicitResult:
        self.answered += 1
        return ElicitResult(action="accept", content={"name": ELICITED_NAME, "check": True})


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    async def run(self, name: str, check: Callable[[], Awaitable[object]]) -> None:
        try:
            await check()
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the run
            self.failed += 1
            print(f"FAIL {name}: {type(exc).__name__}: {exc}", flush=True)
            if not isinstance(exc, AssertionError):
                traceback.print_exc()
        else:
            self.passed += 1
            print(f"ok   {name}", flush=True)


def texts(result: object) -> list[str]:
    return [c.text for c in getattr(result, "content", []) if isinstance(c, TextContent)]


async def expect_invalid_params(call: Awaitable[object], what: str) -> None:
    try:
        result = await call
    except MCPError as err:
        assert err.error.code == INVALID_PARAMS, f"code {err.error.code}: {err.error.message}"
        return
    raise AssertionError(f"{what} answered a result: {result}")


async def echo_once(session: ClientSession, name: str) -> None:
    message = f"interop {uuid.uuid4()}"
    result = await session.call_tool(name, {"message": message})
    assert not result.is_error, f"isError: {texts(result)}"
    assert any(message in t for t in texts(result)), f"{message!r} not in {texts(result)}"


async def run_checks(
    session: ClientSession, args: argparse.Namespace, checks: Checks, elicitations: Elicitations
) -> None:
    async def initialize() -> None:
        result = await session.initialize()
        assert result.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS, result.protocol_version
        assert result.capabilities.tools is not None, f"no tools capability: {result.capabilities}"
        assert result.server_info.name == args.server_name, result.server_info

    await checks.run("initialize", initialize)
    if checks.failed:
        return

    await checks.run("ping", session.send_ping)

    async def list_tools() -> None:
        allowed = sorted(n for n in args.allowed.split(",") if n)
        listed = await session.list_tools()
        names = sorted(t.name for t in listed.tools)
        assert names == allowed, f"tools/list gave {names}, expected exactly {allowed}"
        for tool in listed.tools:
            assert tool.input_schema.get("type") == "object", f"{tool.name}: {tool.input_schema}"
        for name in args.denied:
            assert name not in names, f"the not-granted tool {name} is listed"

    if args.allowed is not None:
        await checks.run("tools/list is exactly the granted tools", list_tools)

    for name in args.echo:
        await checks.run(f"tools/call {name} echoes", lambda name=name: echo_once(session, name))

    if args.echo:

        async def concurrent() -> None:
            messages = [f"burst {i} {uuid.uuid4()}" for i in range(8)]
            answers: dict[str, list[str]] = {}

            async def one(tool: str, message: str) -> None:
                result = await session.call_tool(tool, {"message": message})
                assert not result.is_error, f"isError: {texts(result)}"
                answers[message] = texts(result)

            async with anyio.create_task_group() as tg:
                for i, message in enumerate(messages):
                    tg.start_soon(one, args.echo[i % len(args.echo)], message)
            for message in messages:
                assert any(message in t for t in answers[message]), f"{message!r}: {answers[message]}"

        await checks.run("8 concurrent tools/call answers reach their callers", concurrent)

    for name in args.denied:
        await checks.run(
            f"tools/call {name} (registered, not granted) is -32602",
            lambda name=name: expect_invalid_params(
                session.call_tool(name, json.loads(args.denied_arguments)), f"the not-granted {name}"
            ),
        )
        await checks.run(
            "tools/call of an unknown tool is -32602",
            lambda name=name: expect_invalid_params(
                session.call_tool(f"{name}-no-such-tool", {}), "an unknown tool"
            ),
        )

    for name in args.invalid:

        async def invalid(name: str = name) -> None:
            result = await session.call_tool(name, {"message": 42})
            assert result.is_error, f"a schema-violating call answered isError false: {texts(result)}"

        await checks.run(f"tools/call {name} with a schema-violating argument is isError", invalid)

    if args.progress:

        async def progress() -> None:
            seen: list[tuple[float, float]] = []

            async def on_progress(done: float, total: float | None, message: str | None) -> None:
                seen.append((anyio.current_time(), done))

            result = await session.call_tool(
                args.progress, {"duration": 2, "steps": 2}, progress_callback=on_progress
            )
            finished = anyio.current_time()
            assert not result.is_error, f"isError: {texts(result)}"
            assert [done for _, done in seen] == [1, 2], f"progress notifications: {seen}"
            early = finished - seen[0][0]
            assert early >= 0.5, f"the first progress arrived only {early:.2f}s before the result: buffered"

        await checks.run(f"tools/call {args.progress} streams its progress notifications", progress)

    if args.elicit:

        async def elicit() -> None:
            results: dict[str, list[str]] = {}

            async def one(tool: str) -> None:
                result = await session.call_tool(tool, {})
                assert not result.is_error, f"{tool} isError: {texts(result)}"
                results[tool] = texts(result)

            async with anyio.create_task_group() as tg:
                for tool in args.elicit:
                    tg.start_soon(one, tool)
            for tool in args.elicit:
                assert any(f"Name: {ELICITED_NAME}" in t for t in results[tool]), f"{tool}: {results[tool]}"
            assert elicitations.answered == len(args.elicit), f"{elicitations.answered} elicitations answered"

        await checks.run(
            f"{len(args.elicit)} concurrent calls each ask the client and get its answer", elicit
        )

    if args.survive_restart:
        await survive_restart(session, args.survive_restart, Path(args.handshake), checks)


async def survive_restart(session: ClientSession, name: str, handshake: Path, checks: Checks) -> None:
    await checks.run(f"tools/call {name} before its upstream restarts", lambda: echo_once(session, name))
    (handshake / "ready").touch()
    with anyio.fail_after(60):
        while not (handshake / "restarted").exists():
            await anyio.sleep(0.05)

    async def after() -> None:
        failures: list[str] = []
        for attempt in (1, 2):
            try:
                await echo_once(session, name)
                return
            except MCPError as err:
                failures.append(f"attempt {attempt}: JSON-RPC {err.error.code} {err.error.message!r}")
                assert err.error.code == UPSTREAM_ERROR, (
                    f"{'; '.join(failures)}: a failure reaching the upstream must be a -32011 answer to this request"
                )
        raise AssertionError(f"the session did not recover: {'; '.join(failures)}")

    await checks.run(f"tools/call {name} in the same session after its upstream restarted", after)


async def main(args: argparse.Namespace) -> int:
    token = os.environ.get("MCP_TOKEN")
    if not token:
        print("MCP_TOKEN is not set", file=sys.stderr)
        return 2
    checks = Checks()
    elicitations = Elicitations()
    http: httpx2.AsyncClient = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    try:
        with anyio.fail_after(args.timeout):
            async with (
                http,
                streamable_http_client(args.url, http_client=http) as (read, write),
                ClientSession(
                    read,
                    write,
                    read_timeout_seconds=args.timeout / 2,
                    elicitation_callback=elicitations if args.elicit else None,
                ) as session,
            ):
                await run_checks(session, args, checks, elicitations)
    except Exception as exc:  # noqa: BLE001 - a broken connection is a failure, not a crash
        checks.failed += 1
        print(f"FAIL the session broke off: {type(exc).__name__}: {exc}", flush=True)
        traceback.print_exc()
    print(f"{checks.passed} passed, {checks.failed} failed", flush=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--allowed")
    parser.add_argument("--echo", action="append", default=[])
    parser.add_argument("--denied", action="append", default=[])
    parser.add_argument("--denied-arguments", default="{}")
    parser.add_argument("--invalid", action="append", default=[])
    parser.add_argument("--progress")
    parser.add_argument("--elicit", action="append", default=[])
    parser.add_argument("--survive-restart")
    parser.add_argument("--handshake", default=".")
    parser.add_argument("--server-name", default="portcullis")
    parser.add_argument("--timeout", type=float, default=60.0)
    sys.exit(anyio.run(main, parser.parse_args()))
