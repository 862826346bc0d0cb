"""An MCP server over stdio, written with the official Python SDK (`mcp` on PyPI, its MCPServer), for the worker's
MCP tests (Tests/EndToEndTests/MCPToolTests.swift). Its tools add, fail, block (waits until cancelled, noting its start
and its cancellation in the file HERALD_MCP_TEST_MARKS names), learn (adds a tool and sends notifications/tools/list_changed) and crash the process."""

import asyncio
import os

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("herald-test-tools")
MARKS = os.environ.get("HERALD_MCP_TEST_MARKS")


def mark(text: str) -> None:
    if MARKS:
        with open(MARKS, "a", encoding="utf-8") as marks:
            marks.write(text + "\n")


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


@server.tool()
def fail(message: str) -> str:
    """Always fails with the given message."""
    raise ToolError(message)


@server.tool()
async def block() -> str:
    """Never answers: it waits until the call is cancelled."""
    mark("block started")
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        mark("block cancelled")
        raise
    return "unblocked"


@server.tool()
async def learn(ctx: Context) -> str:
    """Adds the tool `shout` and tells the client its tool list changed."""

    def shout(text: str) -> str:
        """Says the text in capitals."""
        return text.upper()

    server.add_tool(shout)
    # The notification itself, not MCP 2.x's subscriptions/listen bus, which clients of the 2025 spec do not read.
    await ctx.session.send_tool_list_changed()
    return "learnt shout"


@server.tool()
def crash() -> str:
    """Ends the server's process at once, mid-call."""
    os._exit(3)


if __name__ == "__main__":
    mark("started")
    server.run()
