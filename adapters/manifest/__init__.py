"""manifest.yaml: the one configuration file floe reads.

This package owns reading it: full validation into the domain's ``ManifestConfig``
(:mod:`.loader`, YAML and pydantic) and the small per-content cache of what ``status``
needs, so that the fast read path never validates (:mod:`.summary`). Nothing is imported
here, so ``status`` can import the summary without loading YAML or pydantic.
"""
