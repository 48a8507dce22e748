"""Two readers built by the same component: one legacy (exempted in the tests), one new."""

from readers import Reader  # type: ignore[import-not-found]  # a sibling module: the program directory is on sys.path at run time

legacy = Reader("legacy-reader")
fresh = Reader("new-reader")
