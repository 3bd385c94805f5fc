"""Python source for the exported scripts: literals of plain data and calls."""

from typing import Any


def plain(arrays: tuple) -> list:
    return [a.tolist() for a in arrays]


def notes(names: list, what: str = "") -> list[str]:
    """Per layer, the names of its first and last parameter (led by `what[l]`)."""
    spans = []
    for l, layer in enumerate(names):
        first, last = flat(layer)[0], flat(layer)[-1]
        span = f"{first} … {last}" if first != last else first
        spans.append(f"{what}[{l}]: {span}" if what else span)
    return spans


def flat(values: Any) -> list:
    return [y for x in values for y in flat(x)] if isinstance(values, list) else [values]


def nested(values: list, comments: list[str] | None = None, indent: str = "") -> str:
    """A list literal, one item a line down to rows of numbers (or names), which stay on
    one line; `comments` go beside the items of the outer list."""
    if not values or not isinstance(values[0], list):
        return "[" + ", ".join(literal(v) for v in values) + "]"
    inner = indent + "    "
    lines = []
    for k, v in enumerate(values):
        note = f"  # {comments[k]}" if comments else ""
        item = nested(v, None, inner)
        if note and item.startswith("[\n"):  # the note on the item's opening line
            lines.append(f"{inner}[{note}\n{item[2:]},")
        else:
            lines.append(f"{inner}{item},{note}")
    return "[\n" + "\n".join(lines) + f"\n{indent}]"


def literal(value: Any) -> str:
    # repr() writes the shortest string that reads back as the same float64; strings in
    # double quotes, as the rest of the script.
    return f'"{value}"' if isinstance(value, str) else repr(value)


def state_literal(per_param: dict[str, list], comments: list[str]) -> str:
    """The optimiser's state: per entry, one array per parameter (commented)."""
    if not per_param:
        return "{}"
    items = [f'    "{k}": {nested(arrays, comments, "    ")},' for k, arrays in per_param.items()]
    return "{\n" + "\n".join(items) + "\n}"


def call(function: str, args: list[str], options: dict[str, Any]) -> str:
    """`function(arg, …, option=value, …)`, on one line if it is short, else one a line."""
    args = args + [f"{k}={v!r}" for k, v in options.items() if k != "name"]
    one_line = f"{function}({', '.join(args)})"
    if len(one_line) <= 80:
        return one_line
    return f"{function}(\n" + "".join(f"    {a},\n" for a in args) + ")"
