"""The offline `pulumi preview`: a Pulumi program run under mocks (mock_engine), its tree, and the policy pack over it.

`python -m offline_preview` is the command line (offline_preview.cli). The parts: stack_config (Pulumi.yaml and stack
config, read as the CLI reads them), program_env (which interpreter runs the program, `--install`), render (tree and
`--json`), policy_preview and analyzer_client (the pack in its own process, driven over the Analyzer protocol).
The run itself lives in mock_engine, a sibling package, because it also runs inside a program's own virtualenv.
"""

from offline_preview.errors import PolicyPackError, PreviewError

__all__ = ["PolicyPackError", "PreviewError"]
