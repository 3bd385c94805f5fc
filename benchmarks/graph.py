"""The graph's layout, timed: the first draw of a shape (the layout's cache cleared) for a
few shapes up to the largest the engine allows, against the classic network's.

    .venv/bin/python -m benchmarks.graph
"""

import statistics
import time

from app.view import layout

SHAPES = [(2, 2, 2), (2, 3, 2), (2, 2, 2, 2), (2, 3, 3, 2), (3, 3, 3, 3), (5,) * 8, (16,) * 8]


def first_draw(layers: tuple[int, ...], present: bool, runs: int = 15) -> float:
    """The median time, in ms, to lay out a shape not laid out before."""
    times = []
    for _ in range(runs):
        layout.layout.cache_clear()
        start = time.perf_counter()
        layout.layout(layers, present)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    for present in (False, True):
        classic = first_draw((2, 2, 2), present)
        for layers in SHAPES:
            ms = first_draw(layers, present)
            g = layout.layout(layers, present)
            print(
                f"{'present' if present else 'page':7} {'-'.join(map(str, layers)):24}"
                f" {ms:6.1f} ms  ×{ms / classic:4.1f} the classic's"
                f"  {layout.evaluated(g, layers):5} places weighed"
            )


if __name__ == "__main__":
    main()
