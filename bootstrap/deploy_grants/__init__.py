"""The CI roles' grants, generated from the stack's plan into bootstrap/permissions/<stack>.json."""
