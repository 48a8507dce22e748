"""The Lambda bundle builder: the handler's code and its pinned requirements in a deterministic zip."""

from bundle_builder.builder import BundleError, LambdaBundle, build_bundle

__all__ = ["BundleError", "LambdaBundle", "build_bundle"]
