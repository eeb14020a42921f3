"""An A2A echo agent built with the official A2A Python SDK (`a2a-sdk`), for interop tests.

    python a2a_agent.py --port PORT [--name NAME]

Serves JSON-RPC on `http://127.0.0.1:PORT/` for both protocol versions the SDK speaks:
1.0 (methods `SendMessage`, `GetTask`, ...; clients send `A2A-Version: 1.0`) and, through the
SDK's v0.3 compatibility adapter, 0.3 (`message/send`, `tasks/get`, ...). The agent card is
at `/.well-known/agent-card.json`; it lists the endpoint twice in `supportedInterfaces`
(protocolVersion 1.0 and 0.3), and the SDK adds the 0.3 top-level fields (`url`,
`preferredTransport`, `protocolVersion`) from the 0.3 entry.

For a message with text T the agent creates a task, publishes WORKING, an artifact with the
text `echo: T`, then COMPLETED. For T == "hold" it publishes WORKING and waits (up to 120 s)
until the task is cancelled; cancelling publishes CANCELED. Push-notification configs are
kept in memory (nothing is ever delivered). Prints `ready <port>` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import socket

import uvicorn
from starlette.applications import Starlette

from a2a.helpers import new_task_from_user_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryPushNotificationConfigStore, InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill

HOLD_SECONDS = 120


class EchoExecutor(AgentExecutor):
    def __init__(self) -> None:
        self._cancelled: dict[str, asyncio.Event] = {}

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = context.get_user_input()
        task = context.current_task
        if task is None:
            task = new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work()
        if text == "hold":
            cancelled = self._cancelled.setdefault(task.id, asyncio.Event())
            try:
                await asyncio.wait_for(cancelled.wait(), HOLD_SECONDS)
            except asyncio.TimeoutError:
                await updater.failed()
            finally:
                self._cancelled.pop(task.id, None)
            return
        await updater.add_artifact([new_text_part(f"echo: {text}")], name="echo")
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()
        self._cancelled.setdefault(context.task_id, asyncio.Event()).set()


def agent_card(name: str, url: str) -> AgentCard:
    return AgentCard(
        name=name,
        description="Echoes the text of each message back as an artifact.",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0"),
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="0.3"),
        ],
        capabilities=AgentCapabilities(streaming=True, push_notifications=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[
            AgentSkill(
                id="echo",
                name="echo",
                description="Replies with 'echo: <text>'.",
                tags=["echo"],
            )
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="echo-agent")
    args = parser.parse_args()

    card = agent_card(args.name, f"http://127.0.0.1:{args.port}/")
    handler = DefaultRequestHandler(
        agent_executor=EchoExecutor(),
        task_store=InMemoryTaskStore(),
        agent_card=card,
        push_config_store=InMemoryPushNotificationConfigStore(),
    )
    app = Starlette(
        routes=[
            *create_agent_card_routes(card),
            *create_jsonrpc_routes(handler, "/", enable_v0_3_compat=True),
        ]
    )

    # Bind first, so a taken port fails here with a plain OSError.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            print(f"ready {args.port}", flush=True)
        await task

    asyncio.run(serve())


if __name__ == "__main__":
    main()
