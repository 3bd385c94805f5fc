"""Between the engine and the templates: a session and its trace as drawn.

Coordinates, colours, widths, labels, element ids, formatted numbers and formulas are
all made here (and only here); the templates place them. Nothing in this package
knows about HTTP.
"""

from app.view.fields import Invalid
from app.view.lab import Lab, build, changes, shown, to_redraw
from app.view.prefs import Prefs

__all__ = ["Invalid", "Lab", "Prefs", "build", "changes", "shown", "to_redraw"]
