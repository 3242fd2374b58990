"""The briefing domain: starting, replacing and ending requests, the schedule, ticks, live events.

Shared by the API (`resolvers/`) and the workers (`workers/`), which only add the arq glue.
"""
