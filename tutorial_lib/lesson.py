"""The lesson's constants and its wording of a count, readable from every layer of the library (and from
``data_fetch``).

Nothing here depends on any other module of the project.
"""

from __future__ import annotations

__all__ = ["BANDS", "COLOURS", "DEFAULT_FAINT", "FAINT_RANGE", "REFERENCE_BAND", "plural"]

#: The bands of the simulated repository, bluest first (the 2018 lesson used r and i; lesson 5 adds g).
BANDS = ("g", "r", "i")

#: The band whose magnitude is the CMD's y axis and whose extendedness and PSF-flux flag the lesson cuts on.
REFERENCE_BAND = "i"

#: Colours the CMDs (the explorers') can show: name -> (blue band, red band).
COLOURS = {"r-i": ("r", "i"), "g-r": ("g", "r")}

#: Default faint limit of the explorer and the lessons' CMDs, AB mag: the simulated coadds' 5-sigma depth in i
#: (see ``data_fetch/population.py``), so fainter rows are mostly noise.
DEFAULT_FAINT = 25.0

#: Range the explorer's faint-limit slider offers, AB mag.
FAINT_RANGE = (18.0, 27.0)


def plural(n: int, word: str, plural_form: str | None = None) -> str:
    """``"1 star"``, ``"2,345 stars"``, ``"2 galaxies"`` (with ``plural_form``).

    Parameters
    ----------
    n : int
        The count.
    word : str
        The singular.
    plural_form : str, optional
        The plural, if not ``word + "s"``.

    Returns
    -------
    str
        The count (with thousands separators) and the word.
    """
    return f"{n:,} {word if n == 1 else (plural_form or word + 's')}"
