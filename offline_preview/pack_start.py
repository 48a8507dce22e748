"""Start the policy pack while the program runs, as the Pulumi CLI does.

The CLI starts its analyzers when the update begins, before the language host runs the program; the pack's start-up
(its interpreter, pulumi_policy, the rules' libraries) then overlaps the program's run. Here both are about a second
(benchmarks/preview_bench.py measures them side by side), so starting the pack first takes most of one off
`make preview` on a machine with a core to spare.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

from offline_preview.analyzer_client import PackProcess


def start(pack: PackProcess) -> Future[PackProcess]:
    """`pack.start()` in a background thread; the pack process itself runs on its own core."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pack-start")
    future = executor.submit(_started, pack)
    executor.shutdown(wait=False)
    return future


def _started(pack: PackProcess) -> PackProcess:
    try:
        pack.start()
    except BaseException:
        pack.close()
        raise
    return pack


def close(starting: Future[PackProcess] | None) -> None:
    """Stop the pack, whether it started, failed to, or is still starting (the program failed meanwhile)."""
    if starting is None:
        return
    try:
        pack = starting.result()
    except Exception:  # noqa: BLE001 (its start failed: the error was reported, or the program's error matters more)
        return
    pack.close()
