"""The MCP server: graphready's capabilities as Model Context Protocol tools, for agents, built
on the official ``mcp`` SDK (its low-level ``Server``).

- ``tools.py``: the tools, declared once: name, description, arguments (whose JSON schema is
  the tool's input schema), the protocol's annotations, the role a key needs;
- ``calls.py``: what each tool does, through the functions the HTTP routes use;
- ``caller.py``: who calls and where (the workspace's state, the key's access);
- ``errors.py``: graphready's errors as MCP errors (the HTTP API's code and message);
- ``server.py``: the SDK server (``tools/list`` and ``tools/call``);
- ``endpoint.py``: streamable HTTP at ``/mcp`` (and ``/workspaces/{w}/mcp``), behind the keys;
- ``stdio.py``: ``graphready mcp DOCS_DIR``, over standard input and output.

The package is ``graphready.mcp``; the SDK is the top-level ``mcp``, which absolute imports
reach (``from mcp.server import Server``)."""
