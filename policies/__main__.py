"""The keyless-guard policy pack. Building PolicyPack starts the gRPC server and blocks: never import this module."""

from pulumi_policy import EnforcementLevel, PolicyPack

from keyless_guard import server
from keyless_guard.pack import PACK_NAME, RULES

server.install(RULES)  # one property conversion per request, shared by the rules that apply (see server.py)
PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[rule.policy() for rule in RULES],
)
