"""A Pulumi program run under mocks, recorded: what the engine would be told, answered as AWS would answer.

This package also runs inside a program's own virtualenv (`python -m mock_engine.program_run REQUEST RESULT`), where
only pulumi and the program's providers are installed: it imports pulumi and its own modules, nothing else, and this
façade imports nothing so that importing one module does not pull in the rest. Every private Pulumi SDK name it
needs is in mock_engine.pulumi_internals.
"""
