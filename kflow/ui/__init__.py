"""`kflow ui`: a web UI over the cluster's Flows and Executions (aiohttp, plain HTML/CSS/JS).

`server.py` (routes, SSE), `hub.py` (the one watch), `access.py` (whose credentials),
`views.py` (what pages show, pure), `command.py` (the CLI command), `static/` (the page).
"""
