"""Detectors: one runtime interface (:mod:`.runtime`) and a registry of loaders (:mod:`.registry`).

Loaders import the runtime, never the other way round; the registry imports the loaders.
"""
