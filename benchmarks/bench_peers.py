"""Classification against the peers on one cube: same samples, same estimator, same 2 cores.

The cube is the shipped NC scene (int16, 6 bands, nodata -32768) tiled to ``--size-y`` x
``--size-x`` and written once as a tiled GeoTIFF. Training samples: ``extract_samples`` on the
scene's polygons (500 per class, seed 0); every Python method fits the same estimator on them
(random forest: 100 trees, max depth 25, min leaf 1; SVM: the package's RBF ``svm``), OTB is
trained on the same pixels (their centres as points). Each method runs in its own process;
its peak RSS is that process's ``ru_maxrss`` (``os.wait4``).

Methods: ``bare`` (read the whole file, ``predict`` the valid pixels in memory, ``n_jobs=-1``;
only the predict is timed), ``ours`` (``open_image`` -> ``classify`` -> ``to_geotiff``,
2 threads; ``ours_1thread``: 1 thread), ``windowed`` (rasterio block windows: read, predict,
write), ``apply_ufunc``
(rioxarray + ``xr.apply_ufunc(dask="parallelized")`` -> ``rio.to_raster``), ``pyspatialml``
(``Raster.predict``; installed outside the venv with
``pip install --no-deps --target /tmp/peers pyspatialml``), ``otb`` (``otbcli_ImageClassifier``).
Labels are compared with the bare predict's.

    python benchmarks/bench_peers.py --method random_trees --size-y 3101 --size-x 3423
    python benchmarks/bench_peers.py --method svm --size-y 1000 --size-x 1000 --chunk 256

Writes ``benchmarks/results/bench_peers_<method>_<y>x<x>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _harness import machine_context, run_child, vm_hwm_mb

RESULTS = Path(__file__).parent / "results"
PEERS = ["bare", "ours", "ours_1thread", "ours_cluster", "windowed", "apply_ufunc", "pyspatialml",
         "otb"]
NODATA = -32768


def make_estimator(method: str, n_jobs: int):
    if method == "random_trees":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=100, max_depth=25, min_samples_leaf=1,
                                      random_state=0, n_jobs=n_jobs)
    from xr_landcover.classification.estimators import make_estimator as package_estimator

    return package_estimator("svm", 6, random_state=0)


def prepare(folder: Path, size_y: int, size_x: int) -> None:
    import geopandas as gpd
    import rasterio

    from xr_landcover import datasets
    from xr_landcover.classification.samples import extract_samples

    with rasterio.open(datasets.nc_landsat7_path()) as src:
        scene, profile = src.read(), src.profile
    rows = np.arange(size_y) % scene.shape[1]
    cols = np.arange(size_x) % scene.shape[2]
    profile.update(height=size_y, width=size_x, tiled=True, blockxsize=256, blockysize=256,
                   compress="none", count=6)
    with rasterio.open(folder / "cube.tif", "w", **profile) as dst:
        for i in range(6):
            dst.write(scene[i][rows][:, cols], i + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ts = extract_samples(datasets.nc_landsat7(), datasets.nc_training_polygons(), "id",
                             "label", max_samples_per_class=500, random_state=0)
    np.savez(folder / "samples.npz", X=ts.X, y=ts.y)
    classes = [[c.value, c.name, list(c.color)] for c in ts.classes]
    (folder / "classes.json").write_text(json.dumps({"classes": classes, "bands": ts.bands}))
    t = profile["transform"]
    xs, ys = t * (ts.cols + 0.5, ts.rows + 0.5)
    points = gpd.GeoDataFrame({"cls": ts.y.astype(int)},
                              geometry=gpd.points_from_xy(xs, ys), crs=profile["crs"])
    # OTB refuses vectors whose CRS is the raster's written differently (a shapefile's .prj is
    # ESRI WKT, "D_unknown" against the raster's "unknown" datum): a GeoPackage keeps the WKT
    points.to_file(folder / "samples.gpkg", driver="GPKG")
    # ... it refuses them anyway (its sample extractor round-trips the CRS through a shapefile);
    # the workaround: copies of both without any CRS
    profile.update(crs=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(folder / "cube_nocrs.tif", "w", **profile) as dst:
            for i in range(6):
                dst.write(scene[i][rows][:, cols], i + 1)
        points.set_crs(None, allow_override=True).to_file(folder / "samples_nocrs.shp")


def _fitted(folder: Path, method: str, n_jobs: int):
    data = np.load(folder / "samples.npz")
    return make_estimator(method, n_jobs).fit(data["X"], data["y"])


def _write_labels(path: Path, labels: np.ndarray, like: Path) -> None:
    import rasterio

    with rasterio.open(like) as src:
        profile = src.profile
    profile.update(count=1, dtype="uint8", nodata=0)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(labels, 1)


def _record_acceleration(estimator, info: dict) -> None:
    """Whether classify's accelerate() took the fast path here, and any fallback warning."""
    from xr_landcover.classification.accelerate import accelerate

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fast = accelerate(estimator)
    info["accelerated"] = fast is not estimator
    info["accelerate_warnings"] = [str(w.message) for w in caught]


def run(folder: Path, method: str, peer: str) -> dict:
    """One method, in this process; returns its timing and where its labels are."""
    import rasterio

    cube = folder / "cube.tif"
    out = folder / f"{peer}.tif"
    info: dict = {}
    if peer == "bare":
        est = _fitted(folder, method, n_jobs=-1)
        with rasterio.open(cube) as src:
            data = src.read()
        valid = (data != NODATA).all(axis=0)
        pixels = data[:, valid].T.astype(np.float32)
        start = time.perf_counter()
        predicted = est.predict(pixels)
        info["seconds"] = time.perf_counter() - start
        labels = np.zeros(valid.shape, np.uint8)
        labels[valid] = predicted
        np.save(folder / "bare.npy", labels)
        info["valid_pixels"] = int(valid.sum())
        return info
    if peer in ("ours", "ours_1thread", "ours_cluster"):
        import dask

        import xr_landcover
        from xr_landcover.classification.model import LandcoverModel
        from xr_landcover.colors import LandcoverClass

        # the same fitted estimator as every other method, in a model as train() makes it
        est = _fitted(folder, method, n_jobs=1)
        _record_acceleration(est, info)
        meta = json.loads((folder / "classes.json").read_text())
        model = LandcoverModel(classes=tuple(LandcoverClass(v, n, tuple(c))
                                             for v, n, c in meta["classes"]),
                               bands=tuple(meta["bands"]), estimator=est, method=method)
        rows, cols = (int(v) for v in os.environ["BENCH_CHUNK"].split(","))
        image = xr_landcover.open_image(cube, chunks={"y": rows, "x": cols},
                                        band_names=list(meta["bands"]))
        if peer in ("ours", "ours_1thread"):
            start = time.perf_counter()
            with dask.config.set(scheduler="threads", num_workers=1 if "1" in peer else 2):
                xr_landcover.to_geotiff(xr_landcover.classify(image, model), out)
            info["seconds"] = time.perf_counter() - start
            return info
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            start = time.perf_counter()
            xr_landcover.to_geotiff(xr_landcover.classify(image, model), out)
            info["seconds"] = time.perf_counter() - start
            info["workers_peak_rss_mb"] = client.run(vm_hwm_mb)
        info["note"] = "a LocalCluster of 2 worker processes; peak_rss_mb is the client's"
        return info
    if peer == "windowed":
        est = _fitted(folder, method, n_jobs=-1)
        start = time.perf_counter()
        with rasterio.open(cube) as src:
            profile = src.profile
            profile.update(count=1, dtype="uint8", nodata=0, compress="deflate")
            with rasterio.open(out, "w", **profile) as dst:
                for r0 in range(0, src.height, 1024):
                    for c0 in range(0, src.width, 1024):
                        window = rasterio.windows.Window(c0, r0, min(1024, src.width - c0),
                                                         min(1024, src.height - r0))
                        block = src.read(window=window)
                        valid = (block != NODATA).all(axis=0)
                        labels = np.zeros(valid.shape, np.uint8)
                        if valid.any():
                            labels[valid] = est.predict(block[:, valid].T.astype(np.float32))
                        dst.write(labels, 1, window=window)
        info["seconds"] = time.perf_counter() - start
        return info
    if peer == "apply_ufunc":
        import dask
        import rioxarray
        import xarray as xr

        est = _fitted(folder, method, n_jobs=1)

        def predict(block):  # (y, x, band)
            valid = np.isfinite(block).all(axis=-1)
            labels = np.zeros(valid.shape, np.uint8)
            if valid.any():
                labels[valid] = est.predict(block[valid])
            return labels

        start = time.perf_counter()
        da = rioxarray.open_rasterio(cube, chunks={"band": -1, "y": 1024, "x": 1024},
                                     masked=True)
        classes = xr.apply_ufunc(predict, da, input_core_dims=[["band"]],
                                 dask="parallelized", output_dtypes=[np.uint8])
        classes = classes.rio.write_nodata(0)
        with dask.config.set(scheduler="threads", num_workers=2):
            classes.rio.to_raster(out, tiled=True, compress="deflate", lock=True)
        info["seconds"] = time.perf_counter() - start
        return info
    if peer == "pyspatialml":
        sys.path.insert(0, "/tmp/peers")
        try:
            import pyspatialml
            from pyspatialml import Raster

            info["version"] = pyspatialml.__version__ if hasattr(pyspatialml,
                                                                 "__version__") else "0.22.1"
            est = _fitted(folder, method, n_jobs=-1)
            start = time.perf_counter()
            raster = Raster(str(cube))
            raster.predict(est, file_path=str(out), dtype="uint8", nodata=0)
            info["seconds"] = time.perf_counter() - start
        except Exception as exc:  # recorded in the results, not hidden
            info["error"] = f"{type(exc).__name__}: {exc}"[:500]
        return info
    if peer == "otb":
        env = {**os.environ, "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS": "2", "OTB_MAX_RAM_HINT": "256"}
        model = folder / f"otb_{method}.model"

        def train(image: str, vector: str) -> subprocess.CompletedProcess:
            cmd = ["otbcli_TrainImagesClassifier", "-io.il", image, "-io.vd", vector,
                   "-io.out", str(model), "-sample.vfn", "cls", "-sample.mt", "-1",
                   "-sample.mv", "-1", "-sample.vtr", "0", "-sample.bm", "0", "-rand", "0"]
            if method == "random_trees":
                cmd += ["-classifier", "rf", "-classifier.rf.nbtrees", "100",
                        "-classifier.rf.max", "25", "-classifier.rf.min", "1"]
            else:
                cmd += ["-classifier", "libsvm", "-classifier.libsvm.k", "rbf",
                        "-classifier.libsvm.opt", "false"]
            return subprocess.run(cmd, env=env, capture_output=True, text=True)

        done = train(str(cube), str(folder / "samples.gpkg"))
        if done.returncode:
            refused = "Spatial reference of input image and samples don't match" in (
                done.stderr + done.stdout)
            info["otb_refused_same_crs_written_differently"] = refused
            done = train(str(folder / "cube_nocrs.tif"), str(folder / "samples_nocrs.shp"))
            info["otb_trained_on"] = "copies without CRS"
        if done.returncode:
            info["error"] = "training: " + "\n".join(
                line for line in (done.stderr or done.stdout).splitlines()
                if "GeoPackage" not in line)[-1200:]
            return info
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "MAXRSS_KB %M", "otbcli_ImageClassifier",
                               "-in", str(cube), "-model", str(model), "-out", str(out), "uint8",
                               "-nodatalabel", "0"], env=env, capture_output=True, text=True)
        info["seconds"] = time.perf_counter() - start
        rss = [line for line in done.stderr.splitlines() if line.startswith("MAXRSS_KB")]
        if rss:
            info["otb_classifier_peak_rss_mb"] = int(rss[-1].split()[1]) / 1024
        if done.returncode:
            info["error"] = (done.stderr or done.stdout)[-800:]
        return info
    raise ValueError(peer)


def _child(folder: Path, method: str, peer: str, chunk: int, chunk_cols: int) -> dict:
    """Run one method in a fresh process (same environment, so the same OpenBLAS kernel)."""
    return run_child([sys.executable, __file__, "--child", peer, "--method", method,
                      "--folder", str(folder), "--chunk", str(chunk),
                      "--chunk-cols", str(chunk_cols)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=["random_trees", "svm"], default="random_trees")
    parser.add_argument("--size-y", type=int, default=3101)
    parser.add_argument("--size-x", type=int, default=3423)
    parser.add_argument("--peers", nargs="*", default=PEERS)
    parser.add_argument("--chunk", type=int, default=1024, help="our chunk rows (pixels)")
    parser.add_argument("--chunk-cols", type=int, default=None,
                        help="our chunk columns (default: --chunk; -1: row strips, full width)")
    parser.add_argument("--child")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.chunk_cols is None:
        args.chunk_cols = args.chunk
    os.environ["BENCH_CHUNK"] = f"{args.chunk},{args.chunk_cols}"
    if args.child:
        folder = Path(args.folder)
        result = run(folder, args.method, args.child)
        result["our_chunk"] = os.environ["BENCH_CHUNK"]
        result["peak_rss_mb"] = vm_hwm_mb()  # this process since its exec
        print(json.dumps(result))
        return

    import rasterio

    context = machine_context()
    folder = RESULTS / f".peers_{args.method}_{args.size_y}x{args.size_x}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        prepare(folder, args.size_y, args.size_x)
        results = {}
        for peer in ["bare"] + [p for p in args.peers if p != "bare"]:
            load = os.getloadavg()
            results[peer] = _child(folder, args.method, peer, args.chunk, args.chunk_cols)
            results[peer]["loadavg_before"] = load
            print(peer, results[peer], flush=True)
        bare = np.load(folder / "bare.npy")
        for peer, info in results.items():
            path = folder / f"{peer}.tif"
            if peer != "bare" and path.exists() and "error" not in info:
                with rasterio.open(path) as src:
                    labels = src.read(1)
                info["labels_identical_to_bare"] = bool(np.array_equal(labels, bare))
                valid = bare > 0
                info["agreement_on_valid_pixels"] = float((labels[valid] == bare[valid]).mean())
                info["nodata_kept"] = bool((labels[~valid] == 0).all())
            if "seconds" in info and "seconds" in results["bare"]:
                info["ratio_to_bare"] = info["seconds"] / results["bare"]["seconds"]
        some_peers = not set(args.peers) >= set(PEERS) - {"ours_cluster"}
        suffix = "_" + "-".join(p for p in args.peers if p != "bare") if some_peers else ""
        if os.environ.get("OPENBLAS_CORETYPE"):
            suffix += "_coretype-" + os.environ["OPENBLAS_CORETYPE"]
        summary = {
            "benchmark": "classification vs peers, same samples, same estimator",
            "command": ("OPENBLAS_CORETYPE=" + os.environ["OPENBLAS_CORETYPE"] + " "
                    if os.environ.get("OPENBLAS_CORETYPE") else "")
                   + f"python benchmarks/bench_peers.py --method {args.method} "
                       f"--size-y {args.size_y} --size-x {args.size_x} --chunk {args.chunk} "
                       f"--chunk-cols {args.chunk_cols}"
                       + (f" --peers {' '.join(args.peers)}" if some_peers else ""),
            "our_chunk": {"y": args.chunk, "x": args.chunk_cols},
            "cube": {"bands": 6, "y": args.size_y, "x": args.size_x, "dtype": "int16"},
            "context": context,
            "results": results,
        }
        out = RESULTS / f"bench_peers_{args.method}_{args.size_y}x{args.size_x}{suffix}.json"
        out.write_text(json.dumps(summary, indent=2) + "\n")
        print(json.dumps(summary, indent=2))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
