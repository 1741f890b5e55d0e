"""Side-by-side performance harness: a bare echo, a naive re-render and ``live``.

``python -m bench`` starts daphne with ``bench.settings``, drives it with a
WebSocket load client and writes ``bench/results/<date>.json`` and a Markdown
table. See ``bench/README.md``.
"""
