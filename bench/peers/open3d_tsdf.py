#!/usr/bin/python3
"""Open3D ScalableTSDFVolume on the same frames as scanstream's fusion bench.

Input: a JSON file {width,height,fx,fy,cx,cy,voxel,trunc,depth_scale,depth_max,
frames:[{rgb, depth, cam_to_world:[16]}], mesh_out?}. Images are loaded before
timing; only integrate() is timed per frame, then mesh extraction once.
Prints one JSON object.
"""
import json
import statistics
import sys
import time

import numpy as np
import open3d as o3d


def main() -> None:
    cfg = json.load(open(sys.argv[1]))
    intr = o3d.camera.PinholeCameraIntrinsic(cfg["width"], cfg["height"], cfg["fx"], cfg["fy"], cfg["cx"], cfg["cy"])
    vol = o3d.pipelines.integration.ScalableTSDFVolume(
        voxel_length=cfg["voxel"], sdf_trunc=cfg["trunc"],
        color_type=o3d.pipelines.integration.TSDFVolumeColorType.RGB8)
    frames = []
    for f in cfg["frames"]:
        color = o3d.io.read_image(f["rgb"])
        depth = o3d.io.read_image(f["depth"])
        rgbd = o3d.geometry.RGBDImage.create_from_color_and_depth(
            color, depth, depth_scale=cfg["depth_scale"], depth_trunc=cfg["depth_max"], convert_rgb_to_intensity=False)
        extrinsic = np.linalg.inv(np.array(f["cam_to_world"], dtype=np.float64).reshape(4, 4))
        frames.append((rgbd, extrinsic))
    times = []
    for rgbd, extrinsic in frames:
        t = time.perf_counter()
        vol.integrate(rgbd, intr, extrinsic)
        times.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    mesh = vol.extract_triangle_mesh()
    extract_ms = (time.perf_counter() - t) * 1000
    if cfg.get("mesh_out"):
        o3d.io.write_triangle_mesh(cfg["mesh_out"], mesh, write_ascii=False)
    print(json.dumps({
        "peer": "open3d", "version": o3d.__version__, "frames": len(times),
        "integrate_ms_median": statistics.median(times), "integrate_ms": times,
        "extract_mesh_ms": extract_ms, "triangles": len(mesh.triangles), "vertices": len(mesh.vertices),
    }))


if __name__ == "__main__":
    main()
