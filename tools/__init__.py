"""Old command names, kept because CI scripts call them; each forwards to the package that now owns the command.

    python -m tools.preview            -> python -m offline_preview
    python -m tools.secret_access      -> python -m access_report
    python -m tools.deploy_permissions -> python -m bootstrap.deploy_grants

Nothing else lives here.
"""
