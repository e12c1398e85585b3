"""manifest.yaml: the one configuration file floe reads.

This package owns reading it: full validation into the domain's ``ManifestConfig``
(:mod:`.loader`, YAML and pydantic) and the small per-content cache of what ``status``
needs, so that the fast read path never validates (:mod:`.summary`). Nothing is imported
here, so ``status`` can import the summary without loading YAML or pydantic.
"""

MAX_BYTES = 256 * 1024
"""Largest manifest.yaml read, by both (a real one is a few KiB; ruamel needs ~35 µs a
value, so this bounds a hostile file's parse to seconds)."""
