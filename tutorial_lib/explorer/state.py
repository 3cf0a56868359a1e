"""The explorer's headless state: criteria, implied boxes, masks, counts, truth, funnel (no widgets).

:class:`ExplorerState` is what a learner changes with the mouse, as plain Python: which criteria are ticked (and
which boxes the ``detect_isPrimary`` shortcut implies), the faint limit, the colour and the patch. Each change is
checked before anything moves (a refused change leaves the state as it was), and the result of the current
state is one :class:`Frame`: the count, the CMD's points, the rows the last criterion removes, the funnel, the
truth counts and the messages. It is tested without ipywidgets or matplotlib; :mod:`.view` draws it.

Speed: every criterion's mask, the calibrated magnitudes and the truth classes are computed once per patch
choice (with :class:`tutorial_lib.selection.Selection` and the patch's ``PhotoCalib``) and cached. A change only
ANDs cached boolean arrays and counts them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from astropy.table import Table

from .._arrays import as_array, finite_pair
from ..lesson import COLOURS, DEFAULT_FAINT, FAINT_RANGE, REFERENCE_BAND, plural
from ..photometry import as_magnitude
from ..selection import (
    CRITERIA,
    FAINT_CUT_DESCRIPTION,
    LESSON_CRITERIA,
    MATCH_AUTO,
    PRIMARY_PARTS,
    MissingColumnError,
    Selection,
    faint_cut,
    funnel_counts,
    funnel_table,
)
from .loading import ALL_PATCHES, PatchTables

__all__ = [
    "COLOURS",
    "FAINT",
    "FLAG_CRITERIA",
    "NO_TRUTH",
    "SHORTCUT",
    "BoxState",
    "ExplorerState",
    "Frame",
    "colour_text",
]

#: The ``detect_isPrimary`` shortcut; while it is on, :data:`PRIMARY_PARTS` are implied.
SHORTCUT = "primary"
#: Flag criteria with a checkbox besides the shortcut, in the lesson's order: the parts of ``detect_isPrimary``
#: first, then the per-band cuts of the reference band.
FLAG_CRITERIA = tuple(name for name in CRITERIA if name != SHORTCUT)
#: Name of the magnitude cut in :meth:`ExplorerState.apply` and in the funnel; the faint limit's keyword of
#: both explorers' ``set``.
FAINT = "faint"
_MINUS = "\N{MINUS SIGN}"
_TRUTH_CLASSES = ("star", "galaxy", "sky", "blend")
_TRUTH_KEYS = (*_TRUTH_CLASSES, "other", "no_truth", "duplicates")
_UNKNOWN = len(_TRUTH_CLASSES)  # "other" truth type
_NO_TRUTH = _UNKNOWN + 1  # row of a patch without a truth table


class _NoTruth:
    """What :attr:`ExplorerState.truth_counts` holds for every count when there is no truth table."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "n/a (no truth table)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return str(self)


#: The value of every truth count of data without a truth table (real data): false, and prints as
#: ``n/a (no truth table)``, so that ``explorer.truth_counts["sky"]`` works on any data.
NO_TRUTH = _NoTruth()


def colour_text(colour: str) -> str:
    """``"r-i"`` as the figures write it, ``"r − i"`` (with a minus sign).

    Parameters
    ----------
    colour : str
        A key of :data:`COLOURS`.

    Returns
    -------
    str
        The colour with a minus sign.
    """
    blue, red = COLOURS[colour]
    return f"{blue} {_MINUS} {red}"


class BoxState(NamedTuple):
    """What one checkbox shows: ticked, greyed out, and its tooltip."""

    value: bool
    disabled: bool
    tooltip: str


@dataclass(frozen=True)
class Frame:
    """Everything the view shows for one state; see the protocol in :mod:`tutorial_lib.explorer`.

    Attributes
    ----------
    n_selected, n_total : int
        Rows selected and rows of the patch choice.
    scope : str
        The patch choice in words (``"patch 4"``, ``"all 9 patches of tract 0"``).
    x_label, y_label : str
        Axis labels of the CMD (colour and magnitude).
    points : tuple of numpy.ndarray
        ``(colour, magnitude)`` of the selected rows with finite values.
    removed : tuple of numpy.ndarray or None
        ``(colour, magnitude)`` of the rows the last criterion removes (or would remove), finite only.
    image : tuple or None
        A histogram-backed state's density instead of points: ``(counts, extent)`` with ``counts`` of shape
        ``(n_magnitude, n_colour)`` and ``extent = (colour_min, colour_max, mag_max, mag_min)``; None here.
    funnel : tuple of (str, int, int)
        ``(label, kept alone, kept cumulative)`` per applied cut.
    truth : dict or None
        Selected rows by true class (``star``, ``galaxy``, ``blend``, and ``sky``, ``other``, ``no_truth`` where
        known) and ``duplicates`` where known; None without a truth table.
    explanation : tuple of (str, str)
        ``(headline, text)`` about the criterion changed last (headline empty before the first change).
    messages : tuple of str
        What the learner should know (empty selection, rows without magnitudes, missing bands...).
    truth_source : str
        Where the truth comes from, as the view names it.
    """

    n_selected: int
    n_total: int
    scope: str
    x_label: str
    y_label: str
    points: tuple[np.ndarray, np.ndarray]
    removed: tuple[np.ndarray, np.ndarray] | None
    image: tuple[np.ndarray, tuple[float, float, float, float]] | None
    funnel: tuple[tuple[str, int, int], ...]
    truth: dict[str, int] | None
    explanation: tuple[str, str]
    messages: tuple[str, ...]
    truth_source: str = "truth_match"


@dataclass
class _Arrays:
    """Everything a change needs for one patch choice, computed once."""

    n: int
    masks: dict[str, np.ndarray]  # criterion -> keep (rows of patches where unavailable: False)
    unavailable: dict[str, str]  # criterion -> why it cannot be used at all
    mags: dict[str, np.ndarray]  # band -> AB mag (NaN where unavailable)
    missing_bands: dict[str, str]  # band -> why there are no magnitudes in it
    truth_code: np.ndarray | None  # index into _TRUTH_CLASSES, _UNKNOWN or _NO_TRUTH
    truth_order: np.ndarray | None  # rows with truth_id >= 0, sorted by truth_id
    truth_sorted_ids: np.ndarray | None
    notes: list[str]
    colours: dict[str, np.ndarray] = field(default_factory=dict)

    def colour(self, name: str) -> np.ndarray:
        if name not in self.colours:
            blue, red = COLOURS[name]
            self.colours[name] = self.mags[blue] - self.mags[red]
        return self.colours[name]


def _criterion_masks(sel: Selection, ref: Table, label: str, reference_band: str, notes: list[str]) -> tuple:
    """Each checkbox criterion's mask over one patch, or why it is unavailable."""
    masks: dict[str, np.ndarray] = {}
    unavailable: dict[str, str] = {}
    for name in (*FLAG_CRITERIA, SHORTCUT):
        crit = CRITERIA[name]
        if crit.table != "ref" and reference_band not in sel.bands:
            unavailable[name] = f"no {reference_band}-band forced table in {label}"
            continue
        try:
            masks[name] = sel.mask([name], band=reference_band if crit.table != "ref" else None)
        except MissingColumnError as err:
            if name == "point_source" and err.table != "ref" and err.column in ref.colnames:
                # 2016 forced tables have no extendedness; the reference table's was measured in each
                # object's reference band (lesson 8).
                masks[name] = crit.rule(sel.column(err.column))
                notes.append(
                    f"{label}: the {reference_band}-band forced table has no {err.column}, so "
                    f"{crit.label} uses deepCoadd_ref's (measured in each object's reference band)"
                )
            else:
                unavailable[name] = f"{label}: {err}"
        except (ValueError, TypeError) as err:
            unavailable[name] = f"{label}: {err}"
    return masks, unavailable


_TruthArrays = tuple[np.ndarray, np.ndarray, np.ndarray] | tuple[None, None, None]


def _truth_arrays(
    truth: Table | None, n: int, ref_ids: np.ndarray | None, label: str, notes: list[str]
) -> _TruthArrays:
    """(truth class code per row, rows sorted by truth_id, the sorted ids), or three Nones.

    The truth table must be row for row with ``ref``: the same length and, where it has an ``id`` column (as
    ``truth_match`` does), the same ids in the same order.
    """
    if truth is None:
        return None, None, None
    same_ids = ref_ids is None or "id" not in truth.colnames or np.array_equal(as_array(truth["id"]), ref_ids)
    aligned = len(truth) == n and same_ids
    if not aligned or "truth_type" not in truth.colnames or "truth_id" not in truth.colnames:
        notes.append(
            f"the truth table of {label} is not row-for-row with deepCoadd_ref or lacks truth_type/"
            "truth_id: truth counts are not shown for it"
        )
        return None, None, None
    types = np.asarray(truth["truth_type"]).astype(str)
    code = np.full(n, _UNKNOWN, dtype=np.int8)
    for i, name in enumerate(_TRUTH_CLASSES):
        code[types == name] = i
    ids = np.asarray(truth["truth_id"]).astype(np.int64)
    valid = np.flatnonzero(ids >= 0)
    order = valid[np.argsort(ids[valid], kind="stable")]
    return code, order, ids[order]


def _patch_arrays(tables: PatchTables, label: str, bands: Sequence[str], reference_band: str) -> _Arrays:
    """Masks, magnitudes and truth classes of one patch (the expensive part, done once)."""
    ref = tables.ref
    n = len(ref)
    forced = {b: t for b, t in tables.forced.items() if t is not None}
    notes = list(tables.notes)
    # "auto": today's forced tables are row-for-row with ref; 2016 (Gen2) ones link through objectId.
    sel = Selection(
        ref,
        forced,
        reference_band=reference_band if reference_band in forced else next(iter(forced), reference_band),
        match_column=MATCH_AUTO,
        photo_calib=tables.photo_calib,
    )
    notes.extend(f"{label}: {note}" for note in sel.notes)
    masks, unavailable = _criterion_masks(sel, ref, label, reference_band, notes)
    mags: dict[str, np.ndarray] = {}
    missing: dict[str, str] = {}
    for band in bands:
        if band not in forced:
            missing[band] = f"no {band}-band forced table (deepCoadd_forced_src) in {label}"
        else:
            try:
                mags[band] = np.asarray(sel.magnitude(band), dtype=float)
            except (MissingColumnError, ValueError, TypeError) as err:
                missing[band] = f"no {band}-band magnitudes in {label}: {err}"
        if band not in mags:
            mags[band] = np.full(n, np.nan)
            notes.append(missing[band])
    ref_ids = as_array(ref["id"]) if "id" in ref.colnames else None
    code, order, sorted_ids = _truth_arrays(tables.truth, n, ref_ids, label, notes)
    return _Arrays(n, masks, unavailable, mags, missing, code, order, sorted_ids, notes)


def _concatenate(parts: Sequence[_Arrays], bands: Sequence[str]) -> _Arrays:
    """One :class:`_Arrays` for several patches, rows in the order of ``parts``."""
    n = sum(p.n for p in parts)
    offsets = np.cumsum([0] + [p.n for p in parts])[:-1]
    masks, unavailable = {}, {}
    for name in (*FLAG_CRITERIA, SHORTCUT):
        if all(name in p.unavailable for p in parts):
            unavailable[name] = "; ".join(p.unavailable[name] for p in parts)
            continue
        masks[name] = np.concatenate([p.masks.get(name, np.zeros(p.n, dtype=bool)) for p in parts])
    mags = {b: np.concatenate([p.mags[b] for p in parts]) for b in bands}
    missing = {b: "no data in any patch" for b in bands if all(b in p.missing_bands for p in parts)}
    notes = [note for p in parts for note in p.notes]
    notes += [f"{p.unavailable[name]}: its rows fail {name}" for name in masks for p in parts if name in p.unavailable]
    truth_code = truth_order = sorted_ids = None
    if any(p.truth_code is not None for p in parts):
        truth_code = np.concatenate(
            [p.truth_code if p.truth_code is not None else np.full(p.n, _NO_TRUTH, np.int8) for p in parts]
        )
        rows = np.concatenate(
            [p.truth_order + off for p, off in zip(parts, offsets, strict=True) if p.truth_order is not None]
        )
        ids = np.concatenate([p.truth_sorted_ids for p in parts if p.truth_sorted_ids is not None])
        order = np.argsort(ids, kind="stable")
        truth_order, sorted_ids = rows[order], ids[order]
    return _Arrays(n, masks, unavailable, mags, missing, truth_code, truth_order, sorted_ids, notes)


def _duplicate_rows(keep: np.ndarray, order: np.ndarray, sorted_ids: np.ndarray) -> int:
    """Selected rows whose ``truth_id`` is selected more than once (every copy counts); O(n), no sort."""
    ids = sorted_ids[keep[order]]
    if ids.size < 2:
        return 0
    same = ids[1:] == ids[:-1]
    dup = np.zeros(ids.size, dtype=bool)
    dup[1:] |= same
    dup[:-1] |= same
    return int(np.count_nonzero(dup))


def check_faint(value: float) -> float:
    """The faint limit as the slider holds it (0.1 mag steps), refusing values outside :data:`FAINT_RANGE`.

    Parameters
    ----------
    value : float
        Faint limit, AB mag.

    Returns
    -------
    float
        The limit rounded to 0.1 mag.

    Raises
    ------
    ValueError
        If the limit is outside :data:`FAINT_RANGE`.
    """
    low, high = FAINT_RANGE
    value = as_magnitude(value, "faint")
    if not low <= value <= high:
        raise ValueError(f"faint must be between {low} and {high} (AB mag), got {value}")
    return round(value, 1)


class ExplorerState:
    """The explorer's state over the tables of one patch or every patch of a tract (headless).

    Parameters
    ----------
    patches : dict of {key: PatchTables} or PatchTables
        The tables of each patch the chooser offers (keys are patch ids or names); a single
        :class:`PatchTables` is one patch named ``"table"``. Tables are processed when a patch is first chosen.
    tract : int, optional
        Tract id, for labels only.
    patch : key or "all", optional
        Initial patch choice; default the first key.
    bands : sequence of str
        Bands of the forced tables; the colours of :data:`COLOURS` whose bands are all here are offered.
    reference_band : str
        Band of the magnitude axis, the faint limit and the per-band criteria (the lesson's i band).
    faint : float or None
        Initial faint limit in AB mag (None: no limit).
    colour : str
        Initial colour, ``"r-i"`` or ``"g-r"``.
    criteria : iterable of str
        Criteria ticked at the start; default the lesson's (``primary``, ``point_source``, ``good_psf_flux``).
    """

    def __init__(
        self,
        patches: Mapping[Hashable, PatchTables] | PatchTables,
        *,
        tract: int | None = None,
        patch: Hashable | None = None,
        bands: Sequence[str] = ("g", "r", "i"),
        reference_band: str = REFERENCE_BAND,
        faint: float | None = DEFAULT_FAINT,
        colour: str = "r-i",
        criteria: Iterable[str] = LESSON_CRITERIA,
    ) -> None:
        self._tables = _checked_patches(patches)
        self.tract = tract
        self.bands = tuple(bands)
        if reference_band not in self.bands:
            raise ValueError(f"reference_band={reference_band!r} is not one of bands={list(self.bands)}")
        self.reference_band = reference_band
        self.colours = self._offered_colours()
        criteria = [criteria] if isinstance(criteria, str) else list(criteria)  # one name is that criterion
        for name in criteria:
            if name not in self.checkbox_names:
                raise ValueError(
                    f"unknown criterion {name!r}; the explorer's criteria are {', '.join(self.checkbox_names)}"
                )
        # What each checkbox says when it is the learner's to set (parts remember theirs under the shortcut).
        self._own = {name: name in criteria for name in self.checkbox_names}
        if SHORTCUT in criteria:
            for part in PRIMARY_PARTS:
                self._own[part] = True  # unticking the shortcut shows its four parts ticked
        self._cache: dict[Hashable, _Arrays] = {}
        self._last: str | None = None  # criterion (or FAINT) changed last
        self._last_on = False
        self.notice: str | None = None  # what the last change could not do as asked, shown as a message
        self._choice = self.check_patch(patch if patch is not None else next(iter(self._tables)))
        if colour not in self.colours:
            if colour not in COLOURS:
                raise ValueError(f"colour must be one of {list(self.colours)}, got {colour!r}")
            self.notice = self._colour_refused(colour, self.colours[0])
            colour = self.colours[0]
        self._colour = colour
        self._faint = None if faint is None else check_faint(faint)
        self._arrays = self._arrays_for(self._choice)
        self._keep = np.zeros(0, dtype=bool)
        self._frame: Frame | None = None

    # --- what the view reads ---------------------------------------------------------------------------
    checkbox_names: tuple[str, ...] = (SHORTCUT, *FLAG_CRITERIA)
    implied_by_shortcut: tuple[str, ...] = PRIMARY_PARTS
    faint_range: tuple[float, float] = FAINT_RANGE

    @staticmethod
    def criterion_text(name: str) -> tuple[str, str]:
        """``(label, description)`` of a checkbox.

        Parameters
        ----------
        name : str
            A key of :data:`tutorial_lib.selection.CRITERIA`.

        Returns
        -------
        tuple of (str, str)
            The checkbox label and its one-line explanation.
        """
        return CRITERIA[name].label, CRITERIA[name].description

    def patch_label(self, key: Hashable) -> str:
        """A patch choice in words.

        Parameters
        ----------
        key : hashable
            A patch key or ``"all"``.

        Returns
        -------
        str
            ``"patch 4"``, ``"all 9 patches of tract 0"``...
        """
        if key == ALL_PATCHES:
            where = f" of tract {self.tract}" if self.tract is not None else ""
            return f"all {len(self._tables)} patches{where}"
        return f"patch {key}" if isinstance(key, int | np.integer) else str(key)

    @property
    def patch_options(self) -> list[tuple[str, Hashable]]:
        """``(label, value)`` of the patch chooser."""
        options = [(self.patch_label(k), k) for k in self._tables]
        if len(self._tables) > 1:
            options.append((self.patch_label(ALL_PATCHES), ALL_PATCHES))
        return options

    @property
    def patch(self) -> Hashable:
        """The patch choice: a patch key or ``"all"``."""
        return self._choice

    @property
    def patches(self) -> tuple[Hashable, ...]:
        """Keys of the loaded patches."""
        return tuple(self._tables)

    @property
    def tables(self) -> dict[Hashable, PatchTables]:
        """The loaded tables by patch."""
        return dict(self._tables)

    @property
    def colour(self) -> str:
        """The CMD's colour, a key of :data:`COLOURS`."""
        return self._colour

    @property
    def faint(self) -> float | None:
        """The faint limit in AB mag (None: no limit)."""
        return self._faint

    @property
    def faint_enabled(self) -> bool:
        """Whether the faint-limit slider can be moved (a limit is set and the reference band has data)."""
        return self._faint is not None and self.reference_band not in self._arrays.missing_bands

    def boxes(self) -> dict[str, BoxState]:
        """What each checkbox shows: implied parts ticked and disabled, unavailable ones disabled."""
        shortcut = self._shortcut_on()
        out = {}
        for name in self.checkbox_names:
            description = CRITERIA[name].description
            if name in self._arrays.unavailable:
                out[name] = BoxState(False, True, f"Not available: {self._arrays.unavailable[name]}")
            elif shortcut and name in PRIMARY_PARTS:
                text = f"Implied by detect_isPrimary (untick it to set this one). {description}"
                out[name] = BoxState(True, True, text)
            else:
                out[name] = BoxState(self._own[name], False, description)
        return out

    @property
    def frame(self) -> Frame:
        """The result of the current state (computed after each change)."""
        if self._frame is None:
            self._frame = self._compute()
        return self._frame

    # --- changes -----------------------------------------------------------------------------------------
    def validate(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Check changes as :meth:`tutorial_lib.explorer.SelectionExplorer.set` documents them; return them
        normalised (``color`` -> ``colour``, patch and faint checked). Sets :attr:`notice` when a change can
        only be done differently (a colour without data, ``patch='all'`` with one patch).

        Parameters
        ----------
        changes : mapping of {str: object}
            Criterion names to bool, ``faint`` (AB mag or None), ``colour`` (or ``color``) and ``patch``.

        Returns
        -------
        dict of {str: object}
            The changes, normalised.

        Raises
        ------
        ValueError
            If a name is unknown or a value is refused; the state is left as it was.
        """
        changes = dict(changes)
        if "color" in changes:
            if "colour" in changes:
                raise ValueError("give colour= or color=, not both")
            changes["colour"] = changes.pop("color")
        known = (*self.checkbox_names, FAINT, "colour", "patch")
        for key in changes:
            if key not in known:
                raise ValueError(f"unknown setting {key!r}; known: {', '.join(known)}")
        self.notice = None
        if "patch" in changes:
            if changes["patch"] == ALL_PATCHES and len(self._tables) == 1:
                self.notice = f"only {self.patch_label(self.patches[0])} is loaded: patch='all' shows it."
            changes["patch"] = self.check_patch(changes["patch"])
        if "colour" in changes and changes["colour"] not in self.colours:
            if changes["colour"] not in COLOURS:
                raise ValueError(f"colour must be one of {list(self.colours)}, got {changes['colour']!r}")
            self.notice = self._colour_refused(changes.pop("colour"), self._colour)
        if FAINT in changes and changes[FAINT] is not None:
            check_faint(changes[FAINT])
        for key, value in changes.items():
            if key in self._own and not isinstance(value, bool | np.bool_):
                raise ValueError(f"{key} must be True or False, got {value!r}")
        return changes

    def apply(self, changes: Mapping[str, Any], record: bool = True) -> None:
        """Apply checked changes (see :meth:`validate`) all at once, or none if one is refused.

        Turning the shortcut off comes before its parts are set, turning it on after: so one call can both
        set parts and (un)tick the shortcut. ``record=False`` does not make this the change explained.

        Parameters
        ----------
        changes : mapping of {str: object}
            Changes returned by :meth:`validate`.
        record : bool
            Whether the explanation line describes this change.

        Raises
        ------
        ValueError
            If a criterion is unavailable or implied by the shortcut; nothing is changed.
        """
        changes = dict(changes)
        arrays = self._arrays_for(changes["patch"]) if "patch" in changes else self._arrays
        faint = self._faint
        if FAINT in changes:
            faint = None if changes[FAINT] is None else check_faint(changes[FAINT])
        flags = [k for k in FLAG_CRITERIA if k in changes]
        if SHORTCUT in changes:
            flags.insert(len(flags) if changes[SHORTCUT] else 0, SHORTCUT)
        self._refuse_flags(flags, changes, arrays)
        if "patch" in changes:
            self._choice, self._arrays = changes["patch"], arrays
        if "colour" in changes:
            self._colour = changes["colour"]
        if FAINT in changes:
            self._faint = faint
            if record:
                self._last, self._last_on = FAINT, faint is not None
        for name in flags:
            self._own[name] = bool(changes[name])
            if record:
                self._last, self._last_on = name, self._own[name]
        self._frame = None

    def _refuse_flags(self, flags: Sequence[str], changes: Mapping[str, Any], arrays: _Arrays) -> None:
        shortcut_on = self._own[SHORTCUT] and SHORTCUT not in arrays.unavailable
        for name in flags:
            value = bool(changes[name])
            if name in arrays.unavailable and value:
                raise ValueError(f"criterion {name!r} is not available: {arrays.unavailable[name]}")
            if name == SHORTCUT:
                shortcut_on = value and SHORTCUT not in arrays.unavailable
            elif name in PRIMARY_PARTS and shortcut_on and value != self._own[name]:  # a no-op is fine
                raise ValueError(
                    f"{name!r} is implied by the detect_isPrimary shortcut while primary=True; "
                    "set primary=False first (or in the same call)"
                )

    def reset(self) -> None:
        """Back to the lesson's selection: primary, point source and good PSF flux, faint limit
        :data:`DEFAULT_FAINT`, the first colour offered (patch unchanged)."""
        self.notice = None
        self._own = {name: name in LESSON_CRITERIA for name in self._own}
        for part in PRIMARY_PARTS:
            self._own[part] = True
        self._last = None
        self.apply({FAINT: DEFAULT_FAINT, "colour": self.colours[0]}, record=False)

    def check_patch(self, patch: Hashable) -> Hashable:
        """The patch choice ``patch`` stands for; ValueError if it is not loaded.

        Parameters
        ----------
        patch : hashable
            A patch key or ``"all"``.

        Returns
        -------
        hashable
            The key (``"all"`` with one patch loaded stands for that patch).

        Raises
        ------
        ValueError
            If the patch is not loaded.
        """
        if patch == ALL_PATCHES:
            return ALL_PATCHES if len(self._tables) > 1 else self.patches[0]
        if patch in self._tables:
            return patch
        raise ValueError(
            f"patch {patch!r} is not loaded; choose one of {list(self._tables)}"
            + (" or 'all'" if len(self._tables) > 1 else "")
        )

    def _offered_colours(self) -> tuple[str, ...]:
        colours = [c for c, pair in COLOURS.items() if all(b in self.bands for b in pair)]
        if not colours:
            raise ValueError(f"no colour of {list(COLOURS)} can be made from bands={list(self.bands)}")
        # Offer only the colours whose bands have a forced table in some patch (real HSC data: no g band);
        # if none has, offer them all and let the messages say which bands have no data.
        loaded = self._loaded_bands()
        return tuple([c for c in colours if all(b in loaded for b in COLOURS[c])] or colours)

    def _loaded_bands(self) -> set[str]:
        return {b for t in self._tables.values() for b, table in t.forced.items() if table is not None}

    def _colour_refused(self, colour: str, kept: str) -> str:
        absent = [b for b in COLOURS[colour] if b not in self._loaded_bands()]
        return (
            f"the colour {colour_text(colour)} cannot be shown: no {', '.join(absent)}-band forced table is "
            f"loaded; the CMD shows {colour_text(kept)} (colours offered: "
            f"{', '.join(colour_text(c) for c in self.colours)})."
        )

    # --- the selection -----------------------------------------------------------------------------------
    def _arrays_for(self, choice: Hashable) -> _Arrays:
        if choice not in self._cache:
            if choice == ALL_PATCHES:
                parts = [self._arrays_for(k) for k in self._tables]
                self._cache[choice] = _concatenate(parts, self.bands)
            else:
                self._cache[choice] = _patch_arrays(
                    self._tables[choice], self.patch_label(choice), self.bands, self.reference_band
                )
        return self._cache[choice]

    def _shortcut_on(self) -> bool:
        return self._own[SHORTCUT] and SHORTCUT not in self._arrays.unavailable

    @property
    def own(self) -> dict[str, bool]:
        """The checkbox states as the learner set them (parts keep theirs under the shortcut)."""
        return dict(self._own)

    @property
    def criteria(self) -> tuple[str, ...]:
        """Criteria applied now, in the lesson's order (the shortcut in place of its four parts)."""
        if self._shortcut_on():
            names = [SHORTCUT, *(n for n in FLAG_CRITERIA if n not in PRIMARY_PARTS and self._own[n])]
        else:
            names = [n for n in FLAG_CRITERIA if self._own[n]]
        return tuple(n for n in names if n not in self._arrays.unavailable)

    def _faint_mask(self) -> np.ndarray | None:
        if self._faint is None or self.reference_band in self._arrays.missing_bands:
            return None
        return faint_cut(self._arrays.mags[self.reference_band], self._faint)

    def _steps(self) -> list[tuple[str, np.ndarray]]:
        steps = [(name, self._arrays.masks[name]) for name in self.criteria]
        faint = self._faint_mask()
        if faint is not None:
            steps.append((FAINT, faint))
        return steps

    def _last_mask(self) -> np.ndarray | None:
        if self._last is None:
            return None
        if self._last == FAINT:
            return self._faint_mask()
        if self._last in self._arrays.unavailable or (self._last in PRIMARY_PARTS and self._shortcut_on()):
            return None
        return self._arrays.masks[self._last]

    @property
    def keep(self) -> np.ndarray:
        """Which rows of the current patch choice are selected (read-only; patches concatenated in key order)."""
        self.frame  # noqa: B018 - computes the selection if a change made it stale
        return self._keep

    @property
    def n_total(self) -> int:
        """Rows of the patch choice."""
        return self._arrays.n

    def cmd_data(self) -> tuple[np.ndarray, np.ndarray]:
        """Reference-band magnitude and chosen colour of every row of the patch choice (NaN: no value)."""
        return self._arrays.mags[self.reference_band], self._arrays.colour(self._colour)

    def _compute(self) -> Frame:
        """Combine the cached masks into the selection, its funnel, truth counts and messages."""
        arrays = self._arrays
        steps = self._steps()
        funnel, keep = funnel_counts(steps, arrays.n)
        last = self._last_mask()
        removed = None
        if last is not None:
            others = np.ones(arrays.n, dtype=bool)
            for name, mask in steps:
                if name != self._last:
                    np.logical_and(others, mask, out=others)
            removed = others & ~last
        keep.flags.writeable = False
        self._keep = keep
        mag, colour = self.cmd_data()
        x, y, n_nan = finite_pair(colour[keep], mag[keep])
        n = int(np.count_nonzero(keep))
        truth = self._truth_counts(keep)
        return Frame(
            n_selected=n,
            n_total=arrays.n,
            scope=self.patch_label(self._choice),
            x_label=f"{colour_text(self._colour)} [mag]",
            y_label=self.reference_band,
            points=(x, y),
            removed=None if removed is None else finite_pair(colour[removed], mag[removed])[:2],
            image=None,
            funnel=tuple((self._step_label(name), alone, kept) for name, alone, kept in funnel),
            truth=truth,
            explanation=self._explanation(removed),
            messages=tuple(self._messages(n, n_nan)),
        )

    def _step_label(self, name: str) -> str:
        return f"{self.reference_band} ≤ {self._faint:.1f}" if name == FAINT else CRITERIA[name].label

    def _truth_counts(self, keep: np.ndarray) -> dict[str, int] | None:
        arrays = self._arrays
        if arrays.truth_code is None or arrays.truth_order is None or arrays.truth_sorted_ids is None:
            return None
        counts = np.bincount(arrays.truth_code[keep], minlength=_NO_TRUTH + 1)
        out = {name: int(counts[i]) for i, name in enumerate(_TRUTH_CLASSES)}
        out["other"] = int(counts[_UNKNOWN])
        out["no_truth"] = int(counts[_NO_TRUTH])
        out["duplicates"] = _duplicate_rows(keep, arrays.truth_order, arrays.truth_sorted_ids)
        return out

    @property
    def truth_counts(self) -> dict[str, Any]:
        """Selected rows by true class (``star``, ``galaxy``, ``sky``, ``blend``, ``other``, ``no_truth``) and
        ``duplicates`` (rows whose truth_id is selected more than once); every count :data:`NO_TRUTH` without a
        truth table."""
        truth = self.frame.truth
        return dict.fromkeys(_TRUTH_KEYS, NO_TRUTH) if truth is None else dict(truth)

    def _explanation(self, removed: np.ndarray | None) -> tuple[str, str]:
        if self._last is None:
            return "", (
                "Tick or untick a criterion: this line explains it, and the vermillion triangles show the rows "
                "it removes (or would remove) from the others' selection."
            )
        if self._last == FAINT and self._faint is None:
            head, text = "No faint limit", "every row is kept whatever its magnitude, also rows without one."
        elif self._last == FAINT:
            head, text = f"Faint limit {self.reference_band} ≤ {self._faint:.1f}", FAINT_CUT_DESCRIPTION
        else:
            label, text = self.criterion_text(self._last)
            head = f"{label} ({'on' if self._last_on else 'off'})"
            if self._last == SHORTCUT and self._shortcut_on():
                text += " Its four parts are shown ticked and greyed out while it is on."
        if removed is not None:
            verb = "removes" if self._last_on else "would remove"
            text += f" It {verb} {int(np.count_nonzero(removed)):,} of the rows the other criteria keep."
        return head, text

    def _messages(self, n: int, n_nan: int) -> list[str]:
        arrays, scope = self._arrays, self.patch_label(self._choice)
        messages = []
        if arrays.n == 0:
            messages.append(f"{scope} has no rows.")
        elif n == 0:
            messages.append("No rows pass the current selection: untick a criterion or move the faint limit fainter.")
        blue, red = COLOURS[self._colour]
        band = self.reference_band
        no_data = [b for b in dict.fromkeys((band, blue, red)) if b in arrays.missing_bands]
        if no_data:
            messages.append(
                f"No data in band{'s' if len(no_data) > 1 else ''} {', '.join(no_data)} for {scope}: the CMD of "
                f"{band} against {colour_text(self._colour)} cannot be drawn"
                + (" and the faint limit is not applied." if band in no_data else ". Choose another colour.")
            )
        elif n_nan:
            messages.append(
                f"{plural(n_nan, 'selected row')} without a finite {band} magnitude or "
                f"{colour_text(self._colour)} colour (flux ≤ 0 in a band where the object is not detected) "
                + ("is" if n_nan == 1 else "are")
                + " not plotted."
            )
        messages += [f"{CRITERIA[name].label} is not available: {why}." for name, why in arrays.unavailable.items()]
        if self.notice:
            messages.append(self.notice[:1].upper() + self.notice[1:])
        messages.extend(f"Note: {note}." for note in dict.fromkeys(arrays.notes))
        return messages

    # --- text --------------------------------------------------------------------------------------------
    def describe(self) -> str:
        """The state as deterministic text (what nbval compares in lesson 6)."""
        frame = self.frame
        faint = f"{self.reference_band} <= {self._faint:.1f}" if self._faint_mask() is not None else "none"
        names = [f"{SHORTCUT} (implies {', '.join(PRIMARY_PARTS)})" if n == SHORTCUT else n for n in self.criteria]
        lines = [
            f"SelectionExplorer: {frame.scope}, CMD {self.reference_band} vs {self._colour.replace('-', ' - ')}",
            f"  criteria: {', '.join(names) or 'none'}; faint limit: {faint}",
            f"  selected: {frame.n_selected:,} of {frame.n_total:,} rows",
        ]
        if frame.truth is not None:
            t = frame.truth
            lines.append(
                f"  truth: {plural(t['star'], 'star')}, {plural(t['galaxy'], 'galaxy', 'galaxies')}, "
                f"{plural(t['sky'], 'sky object')}, {plural(t['blend'], 'blend parent')}, "
                f"{plural(t['duplicates'], 'duplicate row')}"
            )
        else:
            lines.append("  truth: no truth table")
        lines.extend(f"  message: {m}" for m in frame.messages)
        return "\n".join(lines)

    def funnel(self) -> Table:
        """The funnel of the current selection: ``criterion``, ``n_kept_alone``, ``n_kept_cumulative``,
        ``n_removed`` (as :meth:`tutorial_lib.selection.Selection.funnel`; usable by ``plots.plot_funnel``)."""
        funnel, _ = funnel_counts(self._steps(), self.n_total)
        return funnel_table(funnel, self.n_total)[["criterion", "n_kept_alone", "n_kept_cumulative", "n_removed"]]


def _checked_patches(patches: Mapping[Hashable, PatchTables] | PatchTables) -> dict[Hashable, PatchTables]:
    if isinstance(patches, PatchTables):
        patches = {"table": patches}
    if not patches:
        raise ValueError("SelectionExplorer needs the tables of at least one patch")
    if ALL_PATCHES in patches:
        raise ValueError(f"{ALL_PATCHES!r} is reserved for 'every patch'; name the patches otherwise")
    for key, tables in patches.items():
        if not isinstance(tables, PatchTables):
            raise TypeError(f"patches[{key!r}] must be a PatchTables, got {type(tables).__name__}")
    return dict(patches)
