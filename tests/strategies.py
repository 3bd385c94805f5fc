"""Hypothesis strategies shared by the tests that throw any JSON at a check."""

from hypothesis import strategies as st


def json_values(*specials: object, max_leaves: int = 8) -> st.SearchStrategy:
    """Any plain data JSON can carry (and huge or special numbers), nested in lists and
    objects; `specials` are values worth trying more often than chance would."""
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    if specials:
        scalars = scalars | st.sampled_from(specials)
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=max_leaves,
    )
