"""The keyless-guard policy pack. Building PolicyPack starts the gRPC server and blocks: never import this module."""

import sys

from pulumi_policy import EnforcementLevel, PolicyPack

from keyless_guard import server
from keyless_guard.pack import CREDENTIAL_RULES, PACK_NAME, PACK_VERSION, RULES

# One property conversion per request, shared by the rules that apply; the pack's own version; exemptions from the
# policy config, applied to every diagnostic (see server.py and exemptions.py).
installed = server.install(RULES, version=PACK_VERSION, never_exempt=CREDENTIAL_RULES)
if not installed:
    print(
        f"keyless-guard: pulumi-policy is not {server.SUPPORTED_SDK}x: exemptions are refused, not applied",
        file=sys.stderr,
    )
PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[rule.policy() for rule in server.served_rules(RULES, installed=installed)],
)
