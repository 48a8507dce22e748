"""Two readers built by the same component: one legacy (exempted in the tests), one new."""

from readers import Reader

legacy = Reader("legacy-reader")
fresh = Reader("new-reader")
