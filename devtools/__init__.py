"""Helpers shared by the tests and the benchmarks: real services on free ports, a WebSocket client.

Neutral ground: `tests/` and `bench/` both import it, and it imports neither.
"""
