"""Who is acting, and from which process.

This package owns the two identities a write records: the operator, from an OIDC token,
the registry credential or the local user (:mod:`.operator`), and the ``host:pid`` owner of
an open promotion with the check whether that process still runs (:mod:`.process`).
"""
