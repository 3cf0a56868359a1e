"""Turn the true sky into what the pipelines would measure: detections, deblending, fluxes, flags.

Two stages, as in the pipelines' multi-band processing:

1. :func:`detect_and_deblend` works per *object* on the whole sky: detection in each band, deblending of blend
   groups into a parent and its children, unresolved pairs measured as one source, measured positions. Its
   noise is drawn once per object, so an object is detected (or not) the same way in every patch and tract.
2. :func:`measure_patch` makes the rows of one patch of one tract: every source whose family lies in the
   patch's outer box, 100 sky objects, the detect_* flags, and forced PSF, CModel and aperture fluxes in each
   band. A source measured in two patches is measured on almost the same pixels, so most of its noise is the
   object's own and a little is the patch's.

Numbers that are modelling choices say so; the others cite their source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tutorial_lib.eras import deblend_flags_meas_deblender, deblend_flags_scarlet_v22, is_primary
from tutorial_lib.photometry import AB_MAGNITUDE_OF_ONE_NANOJANSKY
from tutorial_lib.skymap import HSC_PIXEL_SCALE_ARCSEC, TractInfo

from .population import STAR, TrueSky

__all__ = ["BANDS", "Sources", "detect_and_deblend", "dp1_object_rows", "measure_patch", "scarlet_era_patch"]

BANDS = ("g", "r", "i")
#: Coadd zero point: 1 count is magnitude 27 (pipe_tasks python/lsst/pipe/tasks/scaleZeroPoint.py).
ZERO_POINT = 27.0
#: 5-sigma point-source depth of the lesson's shallow coadds of a few 30 s visits, chosen so that faint stars
#: reach i of about 25, as in the lesson's CMD (pipelines_lsst_io getting-started/multiband-analysis-stars.png).
DEPTH_5SIGMA = {"g": 25.4, "r": 25.3, "i": 25.0}
#: PSF FWHM (arcsec): HSC's median seeing is 0.6-0.8" (Aihara et al. 2018, PASJ 70, S8). Choice in that range.
PSF_FWHM_ARCSEC = {"g": 0.75, "r": 0.70, "i": 0.65}
#: HSC coadd pixels, arcsec: the sky map's (obs_subaru ``config/hsc/makeSkyMap.py``; ``makeDiscreteSkyMap.py`` at 16.0).
PIXEL_SCALE_ARCSEC = HSC_PIXEL_SCALE_ARCSEC
#: Magnitude at which stars saturate in the lesson's 30 s HSC visits. Modelling choice, not a measurement: the
#: lesson's CMD (pipelines_lsst_io getting-started/multiband-analysis-stars.png) has few stars brighter than 17.
SATURATION_MAG = 16.5
#: Full well of the HSC CCDs, electrons (Miyazaki et al. 2018, PASJ 70, S1: about 150,000 e-).
HSC_FULL_WELL_ELECTRONS = 150_000
#: Visits per patch in the lesson's shallow coadds: the lsst/ci_hsc data have a few 30 s visits per band. Choice.
VISITS_PER_PATCH = 4


def _electrons_per_count() -> float:
    """Photo-electrons behind one coadd count (zero point 27), for the source's Poisson noise.

    A star of magnitude ``SATURATION_MAG`` fills the central pixel to the full well in one 30 s visit; the
    central pixel of a Gaussian PSF holds 1 / (2 pi sigma_px^2) of the light. Summed over the coadd's visits,
    one count at zero point 27 is then a few hundred electrons (not the 3 e-/ADU of a raw exposure).
    """
    sigma_px = PSF_FWHM_ARCSEC["r"] / 2.3548 / PIXEL_SCALE_ARCSEC
    electrons_per_visit = HSC_FULL_WELL_ELECTRONS * 2 * np.pi * sigma_px**2
    return VISITS_PER_PATCH * electrons_per_visit / 10 ** (-0.4 * (SATURATION_MAG - ZERO_POINT))


#: Electrons per coadd count; the source Poisson variance is flux / GAIN counts^2.
GAIN = _electrons_per_count()
#: Measured flux of a saturated star: magnitudes beyond saturation are compressed by these factors (PSF fits
#: to interpolated cores lose much of the flux; CModel, fit to the wings too, less). Modelling choice.
SATURATED_PSF_COMPRESSION = 0.5
SATURATED_CMODEL_COMPRESSION = 0.8
#: HSC rule for extendedness: point source when fluxRatio * CModel < PSF flux, fluxRatio 0.985
#: (obs_subaru config/cmodel.py; meas_base classification.py).
EXTENDEDNESS_FLUX_RATIO = 0.985
DETECTION_THRESHOLD_SIGMA = 5.0  #: pipe_tasks detectCoaddSources default threshold
APERTURE_RADIUS_PX = 12.0  #: base_CircularApertureFlux_12_0
#: Pixels from the image (patch outer box) edge within which the PSF model is clipped (base_PsfFlux_flag_edge)
#: and within which the footprint touches the EDGE mask (base_PixelFlags_flag_edge). Choice: half the 41-px
#: PSF model stamp, and a footprint radius.
PSF_EDGE_PX = 20.0
PIXEL_EDGE_PX = 10.0
#: Rates of failures with no geometric cause here (bad columns, masked defects, aperture-correction
#: failures, CModel fit failures). Modelling choices giving the percent-level flag rates of real coadds.
NO_GOOD_PIXELS_RATE = 0.006
AP_CORR_FAILURE_RATE = 0.002
CMODEL_FAILURE_RATE = 0.01
#: Correlation of PSF and CModel noise (the same pixels), and the share of noise private to one patch's coadd.
PSF_CMODEL_NOISE_CORRELATION = 0.7
PATCH_NOISE_SHARE = 0.1
SKY_OBJECTS_PER_PATCH = 100  #: meas_algorithms skyObjects.py default


def _counts(mag):
    return 10 ** (-0.4 * (np.asarray(mag) - ZERO_POINT))


def _sky_sigma(band):
    """Background-limited PSF-flux noise in counts: a 5-sigma source is at the depth."""
    return _counts(DEPTH_5SIGMA[band]) / DETECTION_THRESHOLD_SIGMA


def _psf_sigma_arcsec(band):
    return PSF_FWHM_ARCSEC[band] / 2.3548


@dataclass
class Sources:
    """Every source the pipelines would report, one entry per source, before cutting into patches.

    ``family`` is the index of the source's family head (its parent, or itself); ``parent_index`` is -1 for
    sources without a parent. Fluxes are true fluxes in counts; ``psf_ratio`` is PSF flux over total flux.
    """

    ra: np.ndarray
    dec: np.ndarray
    truth_id: np.ndarray
    truth_type: np.ndarray
    n_objects: np.ndarray
    parent_index: np.ndarray
    n_child: np.ndarray
    family: np.ndarray
    true_mag: dict
    flux: dict
    psf_ratio: dict
    aperture_fraction: dict
    noise: dict
    peak: dict
    footprint: dict

    def __len__(self) -> int:
        return len(self.ra)


def _psf_ratio(size_arcsec, band):
    """PSF flux over total flux of a Gaussian source of half-light radius ``size_arcsec``.

    For Gaussian PSF (sigma_p) and source (sigma_g), the PSF-weighted flux is 2 sigma_p^2 / (2 sigma_p^2 +
    sigma_g^2) of the total; a Gaussian's half-light radius is 1.1774 sigma.
    """
    sigma_p = _psf_sigma_arcsec(band)
    sigma_g = np.asarray(size_arcsec) / 1.1774
    return 2 * sigma_p**2 / (2 * sigma_p**2 + sigma_g**2)


def _aperture_fraction(size_arcsec, band):
    """Fraction of a Gaussian source's flux inside the 12-pixel aperture."""
    sigma2 = _psf_sigma_arcsec(band) ** 2 + (np.asarray(size_arcsec) / 1.1774) ** 2
    radius = APERTURE_RADIUS_PX * PIXEL_SCALE_ARCSEC
    return 1 - np.exp(-(radius**2) / (2 * sigma2))


def detect_and_deblend(rng: np.random.Generator, sky: TrueSky) -> Sources:
    """Detect true objects, merge unresolved pairs, deblend groups, and measure positions (object level)."""
    n_true = len(sky)
    flux_true = {b: _counts(sky.mag[b]) for b in BANDS}
    obj_noise = {b: rng.standard_normal(n_true) for b in BANDS}

    # Unresolved pairs become one source at the brighter member, measuring both.
    secondary = (sky.pair >= 0) & (sky.pair != np.arange(n_true))
    head = np.where(sky.pair >= 0, sky.pair, np.arange(n_true))
    src_flux = {b: np.bincount(head, weights=flux_true[b], minlength=n_true) for b in BANDS}
    n_objects = np.bincount(head, minlength=n_true)
    weight = flux_true["i"]
    w_sum = np.bincount(head, weights=weight, minlength=n_true)
    with np.errstate(invalid="ignore", divide="ignore"):
        src_ra = np.bincount(head, weights=weight * sky.ra, minlength=n_true) / w_sum
        src_dec = np.bincount(head, weights=weight * sky.dec, minlength=n_true) / w_sum
    src_size = np.where(n_objects > 1, np.maximum(sky.size_arcsec, 0.2), sky.size_arcsec)

    def snr(b, flux, noise):
        sigma = np.sqrt(_sky_sigma(b) ** 2 + np.maximum(flux, 0) / GAIN)
        return (flux + sigma * noise) / sigma

    peak = {b: snr(b, src_flux[b] * _psf_ratio(src_size, b), obj_noise[b]) >= DETECTION_THRESHOLD_SIGMA for b in BANDS}
    detected = ~secondary & (peak["g"] | peak["r"] | peak["i"])

    # Blend groups: detected members become children of a parent when two or more of them are detected.
    in_group = (sky.group >= 0) & detected
    group_ids, group_counts = np.unique(sky.group[in_group], return_counts=True)
    blended_groups = group_ids[group_counts >= 2]
    is_child = in_group & np.isin(sky.group, blended_groups)

    keep = np.flatnonzero(detected)
    n_single = len(keep)
    n_parents = len(blended_groups)
    n_src = n_single + n_parents
    parent_of_group = {g: n_single + k for k, g in enumerate(blended_groups)}

    truth_id = np.concatenate([keep, np.full(n_parents, -1)])
    truth_type = np.concatenate([np.where(sky.kind[keep] == STAR, "star", "galaxy"), np.full(n_parents, "blend")])
    parent_index = np.full(n_src, -1)
    parent_index[:n_single] = [
        parent_of_group.get(g, -1) if c else -1 for g, c in zip(sky.group[keep], is_child[keep], strict=True)
    ]
    family = np.where(parent_index >= 0, parent_index, np.arange(n_src))
    n_child = np.bincount(parent_index[parent_index >= 0], minlength=n_src).astype(np.int32)

    flux = {b: np.concatenate([src_flux[b][keep], np.zeros(n_parents)]) for b in BANDS}
    n_obj = np.concatenate([n_objects[keep], np.zeros(n_parents, dtype=int)])
    child_idx = np.flatnonzero(parent_index >= 0)
    for b in BANDS:
        np.add.at(flux[b], parent_index[child_idx], flux[b][child_idx])
    np.add.at(n_obj, parent_index[child_idx], n_obj[child_idx])

    # Positions: flux-weighted for parents; measured with centroid noise ~ FWHM / (2 S/N).
    ra = np.concatenate([src_ra[keep], np.zeros(n_parents)])
    dec = np.concatenate([src_dec[keep], np.zeros(n_parents)])
    w = flux["i"][child_idx]
    w_par = np.zeros(n_src)
    np.add.at(w_par, parent_index[child_idx], w)
    np.add.at(ra, parent_index[child_idx], w * ra[child_idx])
    np.add.at(dec, parent_index[child_idx], w * dec[child_idx])
    parents = np.arange(n_single, n_src)
    ra[parents] /= w_par[parents]
    dec[parents] /= w_par[parents]
    # Parent "size": the rms spread of its children about the centre, added to the children's sizes.
    spread2 = np.zeros(n_src)
    np.add.at(
        spread2,
        parent_index[child_idx],
        w
        * (
            ((ra[child_idx] - ra[parent_index[child_idx]]) * np.cos(np.radians(dec[child_idx]))) ** 2
            + (dec[child_idx] - dec[parent_index[child_idx]]) ** 2
        )
        * 3600.0**2,
    )
    size = np.concatenate([src_size[keep], np.sqrt(spread2[parents] / w_par[parents])])

    snr_i = np.maximum(
        np.concatenate([snr("i", src_flux["i"][keep], obj_noise["i"][keep]), np.full(n_parents, 100.0)]), 3.0
    )
    centroid_sigma_deg = 0.5 * PSF_FWHM_ARCSEC["i"] / snr_i / 3600.0
    ra = ra + rng.standard_normal(n_src) * centroid_sigma_deg / np.cos(np.radians(dec))
    dec = dec + rng.standard_normal(n_src) * centroid_sigma_deg

    src_peak = {b: np.concatenate([peak[b][keep], np.zeros(n_parents, bool)]) for b in BANDS}
    for b in BANDS:
        src_peak[b][parents] = (
            np.bincount(parent_index[child_idx], weights=src_peak[b][child_idx], minlength=n_src)[parents] > 0
        )
    footprint = {b: src_peak[b][family] for b in BANDS}
    true_mag = {b: ZERO_POINT - 2.5 * np.log10(flux[b]) for b in BANDS}
    noise = {f"{kind}_{b}": rng.standard_normal(n_src) for b in BANDS for kind in ("psf", "cmodel", "aperture", "fail")}
    for b in BANDS:
        # The detection noise and the forced-measurement noise are the same pixels' noise.
        noise[f"psf_{b}"][:n_single] = obj_noise[b][keep]
        noise[f"fail_{b}"] = rng.random(n_src)
    return Sources(
        ra=ra,
        dec=dec,
        truth_id=truth_id,
        truth_type=truth_type,
        n_objects=n_obj,
        parent_index=parent_index,
        n_child=n_child,
        family=family,
        true_mag=true_mag,
        flux=flux,
        psf_ratio={b: _psf_ratio(size, b) for b in BANDS},
        aperture_fraction={b: _aperture_fraction(size, b) for b in BANDS},
        noise=noise,
        peak=src_peak,
        footprint=footprint,
    )


def _packed_id(tract: int, patch_x: int, patch_y: int, n: np.ndarray) -> np.ndarray:
    """Source ids as the HSC mapper packs them: ((((tract << 5) + px) << 5) + py) << 32 | n (obs_subaru)."""
    return ((((tract << 5) + patch_x) << 5) + patch_y) << 32 | n.astype(np.int64)


def _distance_to_edge(x, y, box):
    x0, y0, x1, y1 = box.float_corners()
    return np.minimum.reduce([x - x0, x1 - x, y - y0, y1 - y])


#: Margin (pixels) around a patch's outer box within which sources are candidates for it: more than the
#: largest offset of a child from its parent (BLEND_GROUP_RADIUS_ARCSEC, 15 px), so whole families are found.
CANDIDATE_MARGIN_PX = 50


class TractSources:
    """Sources in one tract's pixel coordinates, bucketed by patch, so each patch looks only at its own.

    Without the buckets every patch would test every source of the sky, and the build would grow with the
    square of the area.
    """

    def __init__(self, sources: Sources, tract: TractInfo):
        self.x, self.y = tract.sky_to_pixel(sources.ra, sources.dec)
        width, height = tract.patch_inner_dimensions
        nx, ny = tract.getNumPatches()
        reach = tract.getPatchBorder() + CANDIDATE_MARGIN_PX
        n_sources = len(self.x)
        keys = []  # patch * n_sources + source index: one int64 per (patch, source) pair
        for dx in (-reach, reach):
            for dy in (-reach, reach):
                px = np.floor((self.x + 0.5 + dx) / width)
                py = np.floor((self.y + 0.5 + dy) / height)
                ok = (px >= 0) & (px < nx) & (py >= 0) & (py < ny) & np.isfinite(self.x)
                keys.append((py[ok] * nx + px[ok]).astype(np.int64) * n_sources + np.flatnonzero(ok))
        # Sorted by patch, then source index; 1-d unique, far faster than np.unique(pairs, axis=0).
        patch_of, index = np.divmod(np.unique(np.concatenate(keys)), max(n_sources, 1))
        bounds = np.searchsorted(patch_of, np.arange(nx * ny + 1))
        self.candidates = {p: index[bounds[p] : bounds[p + 1]] for p in range(nx * ny)}


def measure_patch(
    rng: np.random.Generator,
    sources: Sources,
    skymap,
    tract: TractInfo,
    patch_index: int,
    tract_sources: TractSources | None = None,
) -> tuple[dict, dict, dict]:
    """Rows of one patch: reference columns, forced columns per band, and truth columns (dicts of arrays).

    ``tract_sources`` (the sources bucketed for this tract) makes the cost independent of the sky's size;
    without it they are bucketed here.
    """
    patch = tract.getPatchInfo(patch_index)
    outer, inner = patch.getOuterBBox(), patch.getInnerBBox()
    if tract_sources is None:
        tract_sources = TractSources(sources, tract)
    x_all, y_all = tract_sources.x, tract_sources.y
    candidates = tract_sources.candidates[patch_index]
    in_patch = candidates[outer.contains(x_all[candidates], y_all[candidates])]
    family = sources.family[candidates]
    members = candidates[outer.contains(x_all[family], y_all[family])]
    heads = members[sources.parent_index[members] < 0]
    heads = heads[np.lexsort((x_all[heads], y_all[heads]))]
    children = members[sources.parent_index[members] >= 0]
    # Children follow all parents, grouped by parent in parent order, as the deblender appends them.
    head_rank = np.empty(len(sources), dtype=np.int64)
    head_rank[heads] = np.arange(len(heads))
    children = children[np.lexsort((children, head_rank[sources.parent_index[children]]))]

    # Sky objects: random positions in the outer box, at least a sky-object radius from every source.
    n_sky = SKY_OBJECTS_PER_PATCH
    sx, sy = [], []
    x0, y0, x1, y1 = outer.float_corners()
    # Cells of 16 pixels next to (or holding) a source inside, whatever its family; the border of one cell
    # around the box keeps every neighbour of a candidate's cell inside the array.
    first_x, first_y = int(x0 // 16) - 1, int(y0 // 16) - 1
    occupied = np.zeros((int(x1 // 16) - first_x + 2, int(y1 // 16) - first_y + 2), dtype=bool)
    occupied[(x_all[in_patch] // 16).astype(int) - first_x, (y_all[in_patch] // 16).astype(int) - first_y] = True
    near = np.zeros_like(occupied)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            near[1:-1, 1:-1] |= occupied[1 + dx : occupied.shape[0] - 1 + dx, 1 + dy : occupied.shape[1] - 1 + dy]
    while len(sx) < n_sky:
        cx, cy = rng.uniform(x0 + 10, x1 - 10), rng.uniform(y0 + 10, y1 - 10)
        if near[int(cx // 16) - first_x, int(cy // 16) - first_y]:
            continue
        sx.append(cx)
        sy.append(cy)
    sky_x, sky_y = np.round(np.array(sx), 4), np.round(np.array(sy), 4)
    sky_ra, sky_dec = tract.pixel_to_sky(sky_x, sky_y)

    rows = np.concatenate([heads, np.full(n_sky, -1), children])
    n_rows = len(rows)
    is_sky = rows < 0
    src = np.where(is_sky, 0, rows)
    n_heads = len(heads)
    x = np.concatenate([x_all[heads], sky_x, x_all[children]])
    y = np.concatenate([y_all[heads], sky_y, y_all[children]])
    x, y = np.round(x, 4), np.round(y, 4)
    ra_deg, dec_deg = tract.pixel_to_sky(x, y)

    px, py = patch.getIndex()
    ids = _packed_id(tract.getId(), px, py, np.arange(1, n_rows + 1))
    row_of_source = np.empty(len(sources), dtype=np.int64)
    row_of_source[rows[~is_sky]] = np.flatnonzero(~is_sky)
    parent = np.zeros(n_rows, dtype=np.int64)
    has_parent = ~is_sky & (sources.parent_index[src] >= 0)
    parent[has_parent] = ids[row_of_source[sources.parent_index[src[has_parent]]]]
    n_child = np.where(is_sky, 0, sources.n_child[src]).astype(np.int32)

    patch_inner = inner.contains(x, y)
    tract_inner = skymap.findTract(ra_deg, dec_deg) == tract.getId()
    # getDeblendPrimaryFlags, meas_deblender branch (meas_algorithms setPrimaryFlags.py; tutorial_lib.eras):
    # isDeblendedSource is nChild == 0 and isIsolated nChild == 0 & parent == 0, sky objects included.
    deblend_flags = deblend_flags_meas_deblender({"deblend_nChild": n_child, "parent": parent})
    common = {
        "id": ids,
        "coord_ra": np.round(np.radians(ra_deg), 10),
        "coord_dec": np.round(np.radians(dec_deg), 10),
        "parent": parent,
        "deblend_nChild": n_child,
    }
    ref = dict(common)
    ref.update(
        {
            "base_SdssCentroid_x": x,
            "base_SdssCentroid_y": y,
            "detect_isPatchInner": patch_inner,
            "detect_isTractInner": tract_inner,
            "detect_isPrimary": patch_inner & tract_inner & ~is_sky & deblend_flags["detect_isDeblendedSource"],
            **deblend_flags,
            "merge_peak_sky": is_sky,
            "merge_footprint_sky": is_sky,
        }
    )
    for b in BANDS:
        ref[f"merge_peak_{b}"] = ~is_sky & sources.peak[b][src]
        ref[f"merge_footprint_{b}"] = ~is_sky & sources.footprint[b][src]

    edge_distance = _distance_to_edge(x, y, outer)
    forced = {}
    for b in BANDS:
        forced[b] = _forced_band(rng, sources, b, src, is_sky, edge_distance, common)
    # The reference table's extendedness is measured in the reference band, i for HSC (pipe_tasks
    # MergeMeasurementsTask priorityList begins with HSC-I).
    ref["base_ClassificationExtendedness_value"] = forced["i"]["base_ClassificationExtendedness_value"]
    ref["base_ClassificationExtendedness_flag"] = forced["i"]["base_ClassificationExtendedness_flag"]

    truth = {
        "id": ids,
        "truth_id": np.where(is_sky, -1, sources.truth_id[src]),
        "truth_type": np.where(is_sky, "sky", sources.truth_type[src]),
        "truth_n_objects": np.where(is_sky, 0, sources.n_objects[src]),
    }
    for b in BANDS:
        truth[f"truth_mag_{b}"] = np.where(is_sky, np.nan, np.round(sources.true_mag[b][src], 4))
    assert n_heads + n_sky + len(children) == n_rows
    return ref, forced, truth


def _forced_band(rng, sources: Sources, band, src, is_sky, edge_distance, common) -> dict:
    """Forced PSF, CModel and aperture photometry of every row in one band."""
    n_rows = len(src)
    sigma_sky = _sky_sigma(band)
    total = np.where(is_sky, 0.0, sources.flux[band][src])
    psf_true = total * np.where(is_sky, 1.0, sources.psf_ratio[band][src])
    ap_true = total * np.where(is_sky, 1.0, sources.aperture_fraction[band][src])

    # Saturation: the core of stars brighter than the limit is saturated; their fluxes come out too faint.
    saturation_flux = _counts(SATURATION_MAG)
    saturated = ~is_sky & (psf_true > saturation_flux)
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(saturated, np.log10(psf_true / saturation_flux), 0.0)
    psf_true = np.where(saturated, saturation_flux * 10 ** (SATURATED_PSF_COMPRESSION * excess), psf_true)
    cmodel_true = np.where(saturated, total * 10 ** ((SATURATED_CMODEL_COMPRESSION - 1) * excess), total)

    def shared_and_private(noise_name):
        shared = np.where(is_sky, 0.0, sources.noise[noise_name][src])
        private = rng.standard_normal(n_rows)
        return np.where(is_sky, private, np.sqrt(1 - PATCH_NOISE_SHARE**2) * shared + PATCH_NOISE_SHARE * private)

    e_psf = shared_and_private(f"psf_{band}")
    e_cm = PSF_CMODEL_NOISE_CORRELATION * e_psf + np.sqrt(1 - PSF_CMODEL_NOISE_CORRELATION**2) * shared_and_private(
        f"cmodel_{band}"
    )
    e_ap = shared_and_private(f"aperture_{band}")

    psf_err = np.sqrt(sigma_sky**2 + np.maximum(psf_true, 0) / GAIN)
    # CModel fits a model broader than the PSF to extended sources: more pixels, more noise.
    broadening = np.where(is_sky, 1.0, 1.0 / np.sqrt(sources.psf_ratio[band][src]))
    cm_err = np.sqrt((sigma_sky * broadening) ** 2 + np.maximum(cmodel_true, 0) / GAIN)
    # Background-limited noise scales with the square root of the pixels used: aperture pi R^2 against the
    # PSF's effective area 4 pi sigma_psf^2.
    sigma_psf_px = PSF_FWHM_ARCSEC[band] / 2.3548 / PIXEL_SCALE_ARCSEC
    ap_err = np.sqrt((sigma_sky * APERTURE_RADIUS_PX / (2 * sigma_psf_px)) ** 2 + np.maximum(ap_true, 0) / GAIN)

    psf = psf_true + psf_err * e_psf
    cmodel = cmodel_true + cm_err * e_cm
    aperture = ap_true + ap_err * e_ap

    fail = np.where(is_sky, rng.random(n_rows), sources.noise[f"fail_{band}"][src])
    psf_edge = edge_distance < PSF_EDGE_PX
    no_good = fail < NO_GOOD_PIXELS_RATE
    ap_corr = (fail >= NO_GOOD_PIXELS_RATE) & (fail < NO_GOOD_PIXELS_RATE + AP_CORR_FAILURE_RATE)
    cm_fail = (fail >= 1 - CMODEL_FAILURE_RATE) | no_good
    psf_flag = psf_edge | no_good | ap_corr
    aperture_flag = (edge_distance < APERTURE_RADIUS_PX) | no_good

    # Stored values are rounded to 0.001 count (noise is >= 1 count), so that a last-digit difference in
    # floating-point arithmetic between machines does not change the data.
    psf = np.round(np.where(no_good, np.nan, psf), 3)
    psf_err = np.round(np.where(no_good, np.nan, psf_err), 3)
    cmodel = np.round(np.where(cm_fail, np.nan, cmodel), 3)
    cm_err = np.round(np.where(cm_fail, np.nan, cm_err), 3)
    aperture = np.round(np.where(no_good, np.nan, aperture), 3)
    ap_err = np.round(np.where(no_good, np.nan, ap_err), 3)

    ext_flag = psf_flag | cm_fail
    with np.errstate(invalid="ignore"):
        extendedness = np.where(EXTENDEDNESS_FLUX_RATIO * cmodel < psf, 0.0, 1.0)
    extendedness = np.where(ext_flag, np.nan, extendedness)

    out = dict(common)
    out.update(
        {
            "base_PsfFlux_instFlux": psf,
            "base_PsfFlux_instFluxErr": psf_err,
            "base_PsfFlux_flag": psf_flag,
            "base_PsfFlux_flag_edge": psf_edge,
            "base_PsfFlux_flag_noGoodPixels": no_good,
            "base_PsfFlux_flag_apCorr": ap_corr,
            "modelfit_CModel_instFlux": cmodel,
            "modelfit_CModel_instFluxErr": cm_err,
            "modelfit_CModel_flag": cm_fail,
            "base_CircularApertureFlux_12_0_instFlux": aperture,
            "base_CircularApertureFlux_12_0_instFluxErr": ap_err,
            "base_CircularApertureFlux_12_0_flag": aperture_flag,
            "base_ClassificationExtendedness_value": extendedness,
            "base_ClassificationExtendedness_flag": ext_flag,
            "base_PixelFlags_flag_saturatedCenter": saturated,
            "base_PixelFlags_flag_edge": edge_distance < PIXEL_EDGE_PX,
        }
    )
    return out


#: Bits of a packed source id below the tract/patch part (obs_subaru HscMapper: ``... << 32 | n``).
_ROW_NUMBER_BITS = 32


def scarlet_era_patch(ref: dict, truth: dict) -> tuple[dict, dict]:
    """The same patch's reference rows as the scarlet deblender of v22 to v29 (DP0.2, DP1) writes them.

    Same detections, blends and measurements as the meas_deblender rows of :func:`measure_patch`; what changes
    is the bookkeeping (meas_extensions_scarlet ``scarletDeblendTask.py`` at 22.0.0 to 29.2.0, with its default
    ``processSingles=True``; lsst/pipe_tasks ``doc/lsst.pipe.tasks/deblending-flags-overview.rst`` @ 4401fc37):

    * every isolated parent is modelled too: it gets one child, the *model of an isolated source*, so its
      ``deblend_nChild`` is 1;
    * sky objects are never deblended (``pseudoColumns``);
    * children get ``deblend_nPeaks = 1``, ``deblend_parentNPeaks`` and ``deblend_parentNChild`` (the parent's
      ``deblend_nPeaks`` and ``deblend_nChild``, scarlet's ``columnInheritance``), and ``deblend_depth = 1``
      (a column scarlet wrote only from 2024-12 to 2025-06, kept so that the unreleased definition of
      :func:`tutorial_lib.eras.deblend_flags_scarlet_pr405` can be tried);
    * parents keep their ids; children are numbered after the parents and sky objects, parent by parent, in
      the order the deblender adds them.

    The ``detect_*`` flags are then computed exactly as that era's ``getDeblendPrimaryFlags`` and
    ``SetPrimaryFlagsTask`` do (:func:`tutorial_lib.eras.deblend_flags_scarlet_v22`).

    Parameters
    ----------
    ref, truth : dict of arrays
        The reference and truth columns of one patch, from :func:`measure_patch`.

    Returns
    -------
    ref, truth : dict of arrays
        The scarlet-era reference columns (:data:`data_fetch.schema.SCARLET_REF_COLUMNS`) and the truth
        columns, row for row.
    """
    ids = np.asarray(ref["id"])
    parent = np.asarray(ref["parent"])
    n_child = np.asarray(ref["deblend_nChild"])
    is_sky = np.asarray(ref["merge_peak_sky"])
    top = np.flatnonzero(parent == 0)  # parents, isolated sources and sky objects, in row order
    isolated = (parent == 0) & (n_child == 0) & ~is_sky
    # Children, parent by parent: a blend's children (in their order), or one model of an isolated source.
    blend_children = np.flatnonzero(parent != 0)
    blend_parents = np.searchsorted(ids, parent[blend_children])  # ids increase with the row; parents are in top
    models = top[isolated[top]]  # the model copies its parent's measurements
    child_rows = np.concatenate([models, blend_children])
    child_parent_rows = np.concatenate([models, blend_parents])
    order = np.lexsort((child_rows, np.arange(len(child_rows)) >= len(models), child_parent_rows))
    child_rows, child_parent_rows = child_rows[order], child_parent_rows[order]
    source_rows = np.concatenate([top, child_rows]).astype(np.int64)
    parent_rows = np.concatenate([np.full(len(top), -1), child_parent_rows])
    is_child = parent_rows >= 0
    base = (ids[0] >> _ROW_NUMBER_BITS) << _ROW_NUMBER_BITS
    new_ids = ids[source_rows].copy()
    new_ids[is_child] = base | (len(top) + 1 + np.arange(np.count_nonzero(is_child), dtype=np.int64))
    parent_index = np.searchsorted(top, parent_rows[is_child])  # a child's parent's new row
    new_parent = np.zeros(len(source_rows), dtype=np.int64)
    new_parent[is_child] = new_ids[parent_index]
    top_n_child = np.where(isolated[top], 1, n_child[top])
    n_peaks = np.concatenate([np.where(isolated[top] | is_sky[top], 1, n_child[top]), np.ones(len(child_rows))])
    new_n_child = np.concatenate([top_n_child, np.zeros(len(child_rows), dtype=np.int32)]).astype(np.int32)
    parent_n_peaks = np.zeros(len(source_rows), dtype=np.int32)
    parent_n_child = np.zeros(len(source_rows), dtype=np.int32)
    parent_n_peaks[is_child] = n_peaks[parent_index]
    parent_n_child[is_child] = top_n_child[parent_index]

    out = {name: np.asarray(values)[source_rows] for name, values in ref.items()}
    out.update(
        {
            "id": new_ids,
            "parent": new_parent,
            "deblend_nChild": new_n_child,
            "deblend_nPeaks": n_peaks.astype(np.int32),
            "deblend_parentNPeaks": parent_n_peaks,
            "deblend_parentNChild": parent_n_child,
            "deblend_depth": is_child.astype(np.int32),
        }
    )
    flags = deblend_flags_scarlet_v22(out)
    out.update(flags)
    out["detect_isPrimary"] = is_primary(out, flags)
    truth_out = {name: np.asarray(values)[source_rows] for name, values in truth.items()}
    truth_out["id"] = new_ids
    return out, truth_out


def dp1_object_rows(patch_tables: list[tuple[int, dict, dict, dict]], tract: int, photo_calib) -> tuple:
    """One tract's DP1-style ``Object`` rows (only primary rows) and their truth, from the patches' tables.

    Parameters
    ----------
    patch_tables : list of (patch id, ref, forced, truth)
        Each patch's reference columns, forced columns by band and truth columns, from :func:`measure_patch`.
    tract : int
        Tract id, written to the ``tract`` column.
    photo_calib : PhotoCalib
        The coadds' calibration, which turns counts into nJy.

    Returns
    -------
    objects : dict of arrays
        The columns of the DP1 layout (:func:`data_fetch.dp1_layout.object_table_columns`): fluxes in nJy,
        positions in degrees, the per-band extendedness of the forced table and the reference band's as
        ``refExtendedness`` (``refBand`` is i for every object, the first band of HSC's merge priority list);
        ``footprintArea`` is not simulated (0).
    truth : dict of arrays
        ``objectId`` and the truth columns, row for row with ``objects``.
    """
    pieces = []
    for patch_id, ref, forced, truth in patch_tables:
        keep = np.asarray(ref["detect_isPrimary"])
        pieces.append(
            (
                patch_id,
                {k: np.asarray(v)[keep] for k, v in ref.items()},
                {b: {k: np.asarray(v)[keep] for k, v in forced[b].items()} for b in BANDS},
                {k: np.asarray(v)[keep] for k, v in truth.items()},
            )
        )
    table: dict[str, np.ndarray] = {}

    def stack(getter):
        return np.concatenate([getter(p) for p in pieces]) if pieces else np.zeros(0)

    table["objectId"] = stack(lambda p: p[1]["id"])
    table["coord_ra"] = np.degrees(stack(lambda p: p[1]["coord_ra"]))
    table["coord_dec"] = np.degrees(stack(lambda p: p[1]["coord_dec"]))
    table["tract"] = np.full(len(table["objectId"]), tract)
    table["patch"] = stack(lambda p: np.full(len(p[1]["id"]), p[0]))
    table["x"] = stack(lambda p: p[1]["base_SdssCentroid_x"])
    table["y"] = stack(lambda p: p[1]["base_SdssCentroid_y"])
    table["refBand"] = np.full(len(table["objectId"]), "i")
    table["refExtendedness"] = stack(lambda p: p[1]["base_ClassificationExtendedness_value"])
    table["parentObjectId"] = stack(lambda p: p[1]["parent"])
    table["deblend_nChild"] = stack(lambda p: p[1]["deblend_nChild"])
    table["detect_isIsolated"] = stack(lambda p: p[1]["detect_isIsolated"])
    table["detect_fromBlend"] = stack(lambda p: p[1]["detect_fromBlend"])
    table["shape_flag"] = stack(lambda p: p[1]["base_ClassificationExtendedness_flag"])
    table["footprintArea"] = np.zeros(len(table["objectId"]), dtype=np.int32)
    mean = photo_calib.getCalibrationMean()
    for b in BANDS:

        def band(name, b=b):
            return stack(lambda p: p[2][b][name])

        psf, psf_err = band("base_PsfFlux_instFlux") * mean, band("base_PsfFlux_instFluxErr") * mean
        table[f"{b}_psfFlux"] = psf
        table[f"{b}_psfFluxErr"] = psf_err
        table[f"{b}_psfFlux_flag"] = band("base_PsfFlux_flag")
        with np.errstate(divide="ignore", invalid="ignore"):
            table[f"{b}_psfMag"] = np.where(psf > 0, AB_MAGNITUDE_OF_ONE_NANOJANSKY - 2.5 * np.log10(psf), np.nan)
            table[f"{b}_psfMagErr"] = 2.5 / np.log(10) * np.abs(psf_err / psf)
        table[f"{b}_cModelFlux"] = band("modelfit_CModel_instFlux") * mean
        table[f"{b}_cModelFluxErr"] = band("modelfit_CModel_instFluxErr") * mean
        table[f"{b}_cModel_flag"] = band("modelfit_CModel_flag")
        table[f"{b}_extendedness"] = band("base_ClassificationExtendedness_value")
        table[f"{b}_extendedness_flag"] = band("base_ClassificationExtendedness_flag")
        table[f"{b}_pixelFlags_saturatedCenter"] = band("base_PixelFlags_flag_saturatedCenter")
    truth_rows = {"objectId": table["objectId"]}
    for name in ("truth_id", "truth_type", "truth_n_objects", *(f"truth_mag_{b}" for b in BANDS)):
        truth_rows[name] = stack(lambda p, name=name: p[3][name])
    return table, truth_rows
