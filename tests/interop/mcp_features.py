"""Exercises every feature of the reference server `server-everything` with the official MCP
Python SDK (`mcp`, pinned in requirements.txt) and prints one JSON report of what it saw.

    [MCP_TOKEN=<bearer token>] python mcp_features.py URL [--repeat N] [--out FILE]

The report is normalized (times, session ids and random values replaced) so that running the
script against the server directly and through the Portcullis gateway must give equal
reports. It covers tools (sampling, elicitation, progress, logging, roots), resources (the
list with every page, templates, text and binary contents, subscriptions), prompts (with
arguments and an embedded resource) and completion. The server-to-client flows — sampling,
elicitation and roots — run N times each (default 20) and the report counts the answers that
came back: a lost answer shows as a count below N.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

# The protocol version this client speaks still has these features.
warnings.filterwarnings("ignore", message=".*(deprecated|removed) as of 2026-07-28.*")

TIMES = re.compile(r"\b\d{1,2}:\d{2}:\d{2}(\s?[AP]M)?")
SESSION = re.compile(r"[Ss]ession(?:Id)? [0-9a-zA-Z-]{8,}")
ROOT = "file:///portcullis/interop"


def normalize(value: Any) -> Any:
    """The value with times and session ids replaced, binary blobs decoded (they carry times
    too), dicts sorted by key."""
    if isinstance(value, dict):
        if isinstance(value.get("blob"), str):
            value = {**value, "blob": base64.b64decode(value["blob"]).decode("utf-8", "replace")}
        return {k: normalize(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, str):
        return SESSION.sub("session <id>", TIMES.sub("<time>", value))
    return value


def dump(model: Any) -> Any:
    """A pydantic model (or anything else) as plain JSON data, normalized."""
    if hasattr(model, "model_dump"):
        model = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return normalize(model)


def contents(items: list[Any]) -> list[Any]:
    return [dump(item) for item in items]


class Client:
    """The callbacks a capable client offers: each answer carries a counter so the report can
    tell that this exact answer came back."""

    def __init__(self) -> None:
        self.sampled = 0
        self.elicited = 0
        self.roots_generation = 0
        self.logs: list[str] = []
        self.updated: list[str] = []

    async def sampling(self, context: object, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.sampled += 1
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=f"sampled answer {self.sampled}"),
            model="interop-model",
        )

    async def elicitation(self, context: object, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.elicited += 1
        return types.ElicitResult(action="accept", content={"name": f"Zoë Łódź {self.elicited}", "check": True})

    async def roots(self, context: object) -> types.ListRootsResult:
        return types.ListRootsResult(
            roots=[types.Root(uri=f"{ROOT}/{self.roots_generation}", name=f"generation {self.roots_generation}")]
        )

    async def logging(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.append(str(params.data))

    async def messages(self, message: object) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            self.updated.append(str(message.params.uri))


def texts(result: Any) -> list[str]:
    return [c.text for c in getattr(result, "content", []) if isinstance(c, types.TextContent)]


async def until(check: Callable[[], bool], seconds: float) -> bool:
    with anyio.move_on_after(seconds):
        while not check():
            await anyio.sleep(0.05)
        return True
    return False


async def all_pages(fetch: Callable[[str | None], Awaitable[Any]], key: str) -> list[Any]:
    items: list[Any] = []
    cursor = None
    for _ in range(50):
        page = await fetch(cursor)
        items.extend(getattr(page, key))
        cursor = page.next_cursor
        if not cursor:
            break
    return items


async def report(session: ClientSession, client: Client, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    await session.initialize()

    def paged(method: Callable[..., Awaitable[Any]]) -> Callable[[str | None], Awaitable[Any]]:
        return lambda cursor: method(params=types.PaginatedRequestParams(cursor=cursor) if cursor else None)

    tools = await all_pages(paged(session.list_tools), "tools")
    keep = ("name", "title", "inputSchema", "outputSchema", "annotations")
    out["tools"] = sorted(
        ({k: v for k, v in dump(t).items() if k in keep} for t in tools), key=lambda t: t["name"]
    )
    prompts = await all_pages(paged(session.list_prompts), "prompts")
    out["prompts"] = sorted((dump(p) for p in prompts), key=lambda p: p["name"])
    resources = await all_pages(paged(session.list_resources), "resources")
    out["resources"] = sorted((dump(r) for r in resources), key=lambda r: r["uri"])
    templates = await all_pages(paged(session.list_resource_templates), "resource_templates")
    out["templates"] = sorted((dump(t) for t in templates), key=lambda t: t["uriTemplate"])

    # Contents: every listed resource, and text and binary ones from the templates.
    reads = {}
    for r in resources:
        reads[str(r.uri)] = contents((await session.read_resource(str(r.uri))).contents)
    for uri in ("demo://resource/dynamic/text/1", "demo://resource/dynamic/blob/2"):
        reads[uri] = contents((await session.read_resource(uri)).contents)
    out["reads"] = reads

    # Prompts: without arguments, with arguments, with completions, with an embedded resource.
    gets = {}
    for name, arguments in (
        ("simple-prompt", None),
        ("args-prompt", {"city": "Oslo", "state": "Viken"}),
        ("completable-prompt", {"department": "Engineering", "name": "Alice"}),
        ("resource-prompt", {"resourceType": "Blob", "resourceId": "3"}),
    ):
        gets[name] = dump(await session.get_prompt(name, arguments))
    out["prompt_gets"] = gets

    completions = {}
    completions["prompt"] = dump(
        await session.complete(types.PromptReference(type="ref/prompt", name="completable-prompt"), {"name": "department", "value": "E"})
    )
    completions["template"] = dump(
        await session.complete(
            types.ResourceTemplateReference(type="ref/resource", uri="demo://resource/dynamic/text/{resourceId}"),
            {"name": "resourceId", "value": "7"},
        )
    )
    out["completions"] = completions

    # Plain tool results.
    calls = {}
    for name, arguments in (
        ("echo", {"message": "héllo wörld"}),
        ("get-sum", {"a": 2, "b": 40}),
        ("get-tiny-image", {}),
        ("get-annotated-message", {"messageType": "success", "includeImage": True}),
        ("get-resource-links", {"count": 2}),
        ("get-resource-reference", {"resourceType": "Text", "resourceId": 4}),
        ("get-structured-content", {"location": "Chicago"}),
    ):
        calls[name] = dump(await session.call_tool(name, arguments))
    out["tool_calls"] = calls

    # Progress, streamed during a call.
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    result = await session.call_tool("trigger-long-running-operation", {"duration": 1, "steps": 2}, progress_callback=on_progress)
    out["progress"] = {"steps": progress, "is_error": bool(result.is_error)}

    # Logging: the level is passed on, and a simulated log message arrives between calls.
    await session.set_logging_level("debug")
    before = len(client.logs)
    await session.call_tool("toggle-simulated-logging", {})
    logged = await until(lambda: len(client.logs) > before, 8)
    await session.call_tool("toggle-simulated-logging", {})
    out["logging"] = {"message_arrived": logged}

    # Subscriptions: updates of a subscribed resource reach this client.
    watched = str(resources[0].uri)
    await session.subscribe_resource(watched)
    await session.call_tool("toggle-subscriber-updates", {})
    updated = await until(lambda: watched in client.updated, 8)
    await session.call_tool("toggle-subscriber-updates", {})
    await session.unsubscribe_resource(watched)
    out["subscription"] = {"update_arrived": updated}

    # Server-to-client flows, `repeat` times each: every answer must come back.
    sampled = 0
    for i in range(repeat):
        result = await session.call_tool("trigger-sampling-request", {"prompt": f"question {i}", "maxTokens": 20})
        if any(f"sampled answer {client.sampled}" in t for t in texts(result)) and client.sampled == i + 1:
            sampled += 1
    elicited = 0
    for i in range(repeat):
        result = await session.call_tool("trigger-elicitation-request", {})
        if any(f"Zoë Łódź {client.elicited}" in t for t in texts(result)) and client.elicited == i + 1:
            elicited += 1
    rooted = 0
    for i in range(repeat):
        client.roots_generation = i + 1
        await session.send_roots_list_changed()

        async def current() -> bool:
            result = await session.call_tool("get-roots-list", {})
            return any(f"{ROOT}/{i + 1}" in t for t in texts(result))

        for _ in range(60):
            if await current():
                rooted += 1
                break
            await anyio.sleep(0.05)
    out["server_to_client"] = {"repeat": repeat, "sampling": sampled, "elicitation": elicited, "roots": rooted}
    return out


async def main(args: argparse.Namespace) -> int:
    token = os.environ.get("MCP_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client = Client()
    http: httpx2.AsyncClient = create_mcp_http_client(headers=headers)
    with anyio.fail_after(args.timeout):
        async with (
            http,
            streamable_http_client(args.url, http_client=http) as (read, write),
            ClientSession(
                read,
                write,
                read_timeout_seconds=30,
                sampling_callback=client.sampling,
                elicitation_callback=client.elicitation,
                list_roots_callback=client.roots,
                logging_callback=client.logging,
                message_handler=client.messages,
            ) as session,
        ):
            result = await report(session, client, args.repeat)
    text = json.dumps(result, indent=1, sort_keys=True, ensure_ascii=False)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--out")
    parser.add_argument("--timeout", type=float, default=120.0)
    sys.exit(anyio.run(main, parser.parse_args()))
