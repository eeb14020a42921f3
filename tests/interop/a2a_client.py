"""An A2A client built with the official A2A Python SDK (`a2a-sdk`), for interop tests.

    python a2a_client.py --card-url URL --token TOKEN --version {1.0,0.3}

Fetches the agent card from URL (any path) with the SDK's `A2ACardResolver`, over an httpx
client that sends `Authorization: Bearer TOKEN` on every request. Keeps only the card's
interfaces of the requested protocol version, so the SDK's `ClientFactory` picks its JSON-RPC
transport for 1.0 or its v0.3 compatibility transport for 0.3, then:

  a. sends "hello" (non-streaming),
  b. streams "stream me",
  c. gets the task of (a).

Prints one JSON line: {"version", "endpoint", "send": {"task_id", "state", "text"},
"stream": {"events", "task_id", "state", "text"}, "get": {"task_id", "state"}}; states are
lowercase short names ("completed", "working", ...). On any error: message on stderr, exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from urllib.parse import urlsplit

import httpx

from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
from a2a.client.client_factory import major_minor
from a2a.helpers import get_artifact_text, new_text_message
from a2a.types import AgentCard, GetTaskRequest, Role, SendMessageRequest, TaskState


def state_name(state: int) -> str:
    return TaskState.Name(state).removeprefix("TASK_STATE_").lower()


def keep_interfaces(card: AgentCard, version: str) -> None:
    """Drops the card's interfaces of other protocol versions (the SDK prefers 1.0)."""
    keep = [
        i
        for i in card.supported_interfaces
        if i.protocol_version and major_minor(i.protocol_version) == major_minor(version)
    ]
    if not keep:
        raise ValueError(f"the agent card lists no interface for protocol version {version}")
    del card.supported_interfaces[:]
    card.supported_interfaces.extend(keep)


def request(text: str) -> SendMessageRequest:
    return SendMessageRequest(message=new_text_message(text, role=Role.ROLE_USER))


async def run(card_url: str, token: str, version: str) -> dict:
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        url = urlsplit(card_url)
        path = url.path + (f"?{url.query}" if url.query else "")
        resolver = A2ACardResolver(http, f"{url.scheme}://{url.netloc}", agent_card_path=path)
        card = await resolver.get_agent_card()
        keep_interfaces(card, version)

        # ClientConfig.streaming picks the call: SendMessage / message/send when False,
        # SendStreamingMessage / message/stream when True (and the card says streaming).
        sender = ClientFactory(ClientConfig(httpx_client=http, streaming=False)).create(card)
        streamer = ClientFactory(ClientConfig(httpx_client=http, streaming=True)).create(card)
        out: dict = {"version": version, "endpoint": sender._transport.url}

        # a. non-streaming send: a single response carrying the finished task
        [event] = [e async for e in sender.send_message(request("hello"))]
        if not event.HasField("task"):
            raise ValueError(f"expected a task, got {event}")
        task = event.task
        out["send"] = {
            "task_id": task.id,
            "state": state_name(task.status.state),
            "text": "".join(get_artifact_text(a) for a in task.artifacts),
        }

        # b. streaming send: task, status and artifact updates
        stream = {"events": [], "task_id": None, "state": None, "text": ""}
        async for event in streamer.send_message(request("stream me")):
            kind = event.WhichOneof("payload")
            stream["events"].append(kind)
            if kind == "task":
                stream["task_id"] = event.task.id
                stream["state"] = state_name(event.task.status.state)
            elif kind == "status_update":
                stream["task_id"] = event.status_update.task_id
                stream["state"] = state_name(event.status_update.status.state)
            elif kind == "artifact_update":
                stream["task_id"] = event.artifact_update.task_id
                stream["text"] += get_artifact_text(event.artifact_update.artifact)
        out["stream"] = stream

        # c. get the task of (a)
        got = await sender.get_task(GetTaskRequest(id=out["send"]["task_id"]))
        out["get"] = {"task_id": got.id, "state": state_name(got.status.state)}
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--card-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--version", choices=["1.0", "0.3"], default="1.0")
    args = parser.parse_args()
    try:
        result = asyncio.run(run(args.card_url, args.token, args.version))
    except Exception as e:  # noqa: BLE001 - any failure is a test failure
        print(f"a2a_client: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
