"""How fast can one core walk a forest? The packed kernel against the alternatives we tried.

The forest of ``bench_peers.py --method random_trees`` (100 trees, max depth 25, fitted on the
NC scene's samples) walks ``--pixels`` real pixels of the NC scene (one 16,384-pixel block,
feature-major, as ``xr_landcover._forest_kernel`` stores it). Each variant computes the leaf of
every pixel in every tree; the leaves are checked against the packed kernel's own scalar walk.
Times are the thread CPU time (``time.thread_time``, best of ``--repeat``), so another process
on the same cores inflates them less than wall time; figures are ns per pixel and tree.

Variants:

* ``sklearn_apply``: each tree's ``apply`` (scikit-learn's Cython walk), ``n_jobs=1``.
* ``packed_L<k>``: the package's branch-free lock-step walk (``_walk`` of
  ``xr_landcover._forest_kernel``) generated for ``k`` pixels in lock-step (the package ships 8).
* ``gather_K<k>``: the same walk written in LLVM IR with AVX2 gathers (``vpgatherdd`` /
  ``vgatherdps``: node word, threshold, pixel value), ``k`` vectors of 8 pixels in lock-step,
  compiled by llvmlite for this CPU. Only where the CPU has AVX2. Not in the package: slower
  than ``packed_L8`` on the CPU it was tried on (see benchmarks/README.md).

    python benchmarks/bench_forest_walk.py

Writes ``benchmarks/results/bench_forest_walk.json``.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import tempfile
import time
import types
from pathlib import Path

import numpy as np
from _harness import machine_context
from bench_peers import _fitted, prepare

import xr_landcover._forest_kernel as fk

RESULTS = Path(__file__).parent / "results"
SHIFT = 14  # the package's block: 2**14 pixels, feature-major


def lockstep_module(lanes: int) -> types.ModuleType:
    """``xr_landcover._forest_kernel`` with ``_walk`` written for ``lanes`` pixels."""
    cs = [f"c{i}" for i in range(lanes)]
    walk = [
        "def _walk(m, root, depth, nodes, xb, rows, r0):",
        "    thr = nodes.view(np.float32)",
        f"    full = m - m % {lanes}",
        f"    for g in range(0, full, {lanes}):",
        "        p = np.uint64(g)",
        "        " + " = ".join(cs) + " = root",
        "        for _ in range(depth):",
        *[f"            c{i} = _step(c{i}, p + np.uint64({i}), nodes, thr, xb)"
          for i in range(lanes)],
        f"        for i, c in enumerate(({', '.join(cs)},)):",
        "            rows[r0 + g + i] = nodes[c + _U3]",
        "    for p in range(full, m):",
        "        rows[r0 + p] = nodes[_descend(root, np.uint64(p), nodes, xb, False) + _U3]",
    ]
    source = Path(fk.__file__).read_text()
    start, end = source.index("def _walk("), source.index("def _kernel(")
    source = source[:start] + "\n".join(walk) + "\n\n\n" + source[end:]
    module = types.ModuleType(f"walk_l{lanes}")
    module.__file__ = str(Path(tempfile.mkdtemp()) / f"walk_l{lanes}.py")
    Path(module.__file__).write_text(source)
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def gather_ir(vectors: int) -> str:
    """LLVM IR of ``walk(word, thr, xb, groups, root, depth, slots)``: ``vectors`` x 8 pixels
    walk one tree in lock-step with AVX2 gathers; ``word = link << 8 | feature``."""
    all8 = "<8 x i32> <" + ", ".join(["i32 -1"] * 8) + ">"
    fmask = f"<8 x float> bitcast ({all8} to <8 x float>)"

    def splat(v: int) -> str:
        return "<" + ", ".join([f"i32 {v}"] * 8) + ">"

    k_range = range(vectors)
    lines = [
        "declare <8 x i32> @llvm.x86.avx2.gather.d.d.256(<8 x i32>, ptr, <8 x i32>, <8 x i32>, i8)",
        "declare <8 x float> @llvm.x86.avx2.gather.d.ps.256(<8 x float>, ptr, <8 x i32>, "
        "<8 x float>, i8)",
        "define void @walk(ptr noalias %word, ptr noalias %thr, ptr noalias %xb, i64 %groups, "
        "i32 %root, i64 %depth, ptr noalias %slots) {",
        "entry:",
        "  %r0 = insertelement <8 x i32> poison, i32 %root, i32 0",
        "  %rootv = shufflevector <8 x i32> %r0, <8 x i32> poison, <8 x i32> zeroinitializer",
        "  %none = icmp eq i64 %groups, 0",
        "  br i1 %none, label %done, label %group",
        "group:",
        "  %g = phi i64 [0, %entry], [%gnext, %store]",
        f"  %base = mul i64 %g, {8 * vectors}",
        "  %base32 = trunc i64 %base to i32",
        "  %b0 = insertelement <8 x i32> poison, i32 %base32, i32 0",
        "  %bv = shufflevector <8 x i32> %b0, <8 x i32> poison, <8 x i32> zeroinitializer",
        *[f"  %p{k} = add <8 x i32> %bv, <" + ", ".join(f"i32 {8 * k + i}" for i in range(8)) + ">"
          for k in k_range],
        "  %flat = icmp eq i64 %depth, 0",
        "  br i1 %flat, label %store, label %step",
        "step:",
        "  %s = phi i64 [0, %group], [%snext, %step]",
        *[f"  %c{k} = phi <8 x i32> [%rootv, %group], [%n{k}, %step]" for k in k_range],
    ]
    for k in k_range:
        lines += [
            f"  %w{k} = call <8 x i32> @llvm.x86.avx2.gather.d.d.256(<8 x i32> zeroinitializer, "
            f"ptr %word, <8 x i32> %c{k}, {all8}, i8 4)",
            f"  %t{k} = call <8 x float> @llvm.x86.avx2.gather.d.ps.256(<8 x float> "
            f"zeroinitializer, ptr %thr, <8 x i32> %c{k}, {fmask}, i8 4)",
            f"  %f{k} = and <8 x i32> %w{k}, {splat(255)}",
            f"  %fs{k} = shl <8 x i32> %f{k}, {splat(SHIFT)}",
            f"  %xi{k} = add <8 x i32> %fs{k}, %p{k}",
            f"  %v{k} = call <8 x float> @llvm.x86.avx2.gather.d.ps.256(<8 x float> "
            f"zeroinitializer, ptr %xb, <8 x i32> %xi{k}, {fmask}, i8 4)",
            f"  %right{k} = fcmp ugt <8 x float> %v{k}, %t{k}",  # not (x <= t), as the kernel
            f"  %rz{k} = zext <8 x i1> %right{k} to <8 x i32>",
            f"  %l{k} = lshr <8 x i32> %w{k}, {splat(8)}",
            f"  %n{k} = add <8 x i32> %l{k}, %rz{k}",
        ]
    lines += [
        "  %snext = add i64 %s, 1",
        "  %last = icmp eq i64 %snext, %depth",
        "  br i1 %last, label %store, label %step",
        "store:",
        *[f"  %e{k} = phi <8 x i32> [%rootv, %group], [%n{k}, %step]" for k in k_range],
    ]
    for k in k_range:
        lines += [f"  %o{k} = add i64 %base, {8 * k}",
                  f"  %q{k} = getelementptr i32, ptr %slots, i64 %o{k}",
                  f"  store <8 x i32> %e{k}, ptr %q{k}, align 4"]
    lines += ["  %gnext = add i64 %g, 1", "  %end = icmp eq i64 %gnext, %groups",
              "  br i1 %end, label %done, label %group", "done:", "  ret void", "}"]
    return "\n".join(lines)


def gather_walker(vectors: int):
    """The compiled ``walk`` of :func:`gather_ir` as a ctypes function, and the counts of
    gather instructions in its machine code."""
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    machine = llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=3)
    module = llvm.parse_assembly(gather_ir(vectors))
    module.verify()
    builder = llvm.create_pass_builder(machine, llvm.create_pipeline_tuning_options(3))
    builder.getModulePassManager().run(module, builder)
    engine = llvm.create_mcjit_compiler(module, machine)
    engine.finalize_object()
    asm = machine.emit_assembly(module)
    signature = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                 ctypes.c_int64, ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p)
    walk = signature(engine.get_function_address("walk"))
    walk.engine = engine  # keep the code alive
    return walk, {"vpgatherdd": asm.count("vpgatherdd"), "vgatherdps": asm.count("vgatherdps")}


def has_avx2() -> bool:
    try:
        return " avx2" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.thread_time()
        fn()
        best = min(best, time.thread_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import rasterio

    folder = RESULTS.parent / ".bench_forest_walk"
    folder.mkdir(exist_ok=True)
    if not (folder / "samples.npz").exists():
        prepare(folder, 512, 512)
    forest = _fitted(folder, "random_trees", 1)
    with rasterio.open(folder / "cube.tif") as src:
        cube = src.read().reshape(6, -1).T
    m = 1 << SHIFT
    x = np.ascontiguousarray(cube[(cube != -32768).all(axis=1)][:m], dtype=np.float32)
    assert len(x) == m
    packed = fk.PackedForest(forest)
    slots = packed.nodes.reshape(-1, 4)
    xb = np.ascontiguousarray(x.T).ravel()
    n_trees = len(packed.roots)
    # the reference leaves: the package's scalar walk, pixel by pixel
    fk._compiled_kernel()
    expected = np.array([[slots[fk._descend(packed.roots[t], np.uint64(p), packed.nodes, xb,
                                            False) // 4, 3] for p in range(m)]
                         for t in range(n_trees)], dtype=np.uint32)
    per = 1e9 / (m * n_trees)
    results: dict = {}

    def sklearn_apply():
        for tree in forest.estimators_:
            tree.apply(x)

    results["sklearn_apply"] = {"ns_per_pixel_tree": best_time(sklearn_apply, args.repeat) * per}
    for lanes in (4, 8, 12, 16):
        module = lockstep_module(lanes)
        module._compiled_kernel()
        rows = np.zeros(m, np.uint32)

        def lockstep(module=module, rows=rows, check=False):
            for t in range(n_trees):
                module._walk(m, packed.roots[t], packed.depths[t], packed.nodes, xb, rows, 0)
                if check and not np.array_equal(rows, expected[t]):
                    return False
            return True

        results[f"packed_L{lanes}"] = {
            "ns_per_pixel_tree": best_time(lockstep, args.repeat) * per,
            "leaves_identical": lockstep(check=True), "shipped": lanes == 8}
    if has_avx2():
        word = ((slots[:, 2] // 4).astype(np.uint32) << 8) | slots[:, 0]
        thr = np.ascontiguousarray(slots[:, 1]).view(np.float32)
        roots = (packed.roots // 4).astype(np.int32)
        for vectors in (1, 2, 4):
            walk, counts = gather_walker(vectors)
            out = np.zeros(m, np.int32)
            groups = m // (8 * vectors)

            def gathered(walk=walk, out=out, groups=groups, check=False):
                for t in range(n_trees):
                    walk(word.ctypes.data, thr.ctypes.data, xb.ctypes.data, groups,
                         int(roots[t]), int(packed.depths[t]), out.ctypes.data)
                    if check and not np.array_equal(slots[out, 3], expected[t]):
                        return False
                return True

            results[f"gather_K{vectors}"] = {
                "ns_per_pixel_tree": best_time(gathered, args.repeat) * per,
                "leaves_identical": gathered(check=True), "instructions": counts}
    for name, row in results.items():
        print(f"{name:14s} {row['ns_per_pixel_tree']:7.2f} ns per pixel and tree",
              {k: v for k, v in row.items() if k != "ns_per_pixel_tree"})
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_forest_walk.json").write_text(json.dumps({
        "benchmark": "one core walking a 100-tree forest: packed lock-step vs alternatives",
        "command": "python benchmarks/bench_forest_walk.py",
        "pixels": m, "trees": n_trees,
        "mean_max_depth": float(np.mean(packed.depths)),
        "context": machine_context(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
