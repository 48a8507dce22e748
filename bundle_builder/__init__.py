"""The Lambda bundle builder: the handler's or the Config rule's code and pinned requirements in a deterministic zip."""

from bundle_builder.builder import BundleError, LambdaBundle, build_bundle, build_rule_bundle

__all__ = ["BundleError", "LambdaBundle", "build_bundle", "build_rule_bundle"]
