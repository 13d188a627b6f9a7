#!/usr/bin/env python3
"""Peer timings for bench/tracking.ts, run in the same session:
OpenCV ORB detect+compute (1000 features) on a gray image, BFMatcher(NORM_HAMMING,
crossCheck=True) on two descriptor sets, and Open3D RGB-D odometry between
consecutive TUM frames. Prints one JSON object; absent libraries are reported,
not fatal.

usage: tracking_opencv.py --gray IMG.png --desc-a A.bin --desc-b B.bin
                          [--tum DIR --pairs N] [--reps N]
"""
import argparse
import json
import statistics
import sys
import time


def median_ms(fn, reps):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--gray')
    ap.add_argument('--desc-a')
    ap.add_argument('--desc-b')
    ap.add_argument('--tum')
    ap.add_argument('--pairs', type=int, default=10)
    ap.add_argument('--reps', type=int, default=30)
    ap.add_argument('--threads', type=int, default=0, help='cv2.setNumThreads (0 = OpenCV default)')
    args = ap.parse_args()
    out = {}
    try:
        import cv2
        import numpy as np
        if args.threads:
            cv2.setNumThreads(args.threads)
        out['opencv'] = {'version': cv2.__version__, 'threads': cv2.getNumThreads()}
        if args.gray:
            img = cv2.imread(args.gray, cv2.IMREAD_GRAYSCALE)
            orb = cv2.ORB_create(nfeatures=1000)
            kps, _ = orb.detectAndCompute(img, None)
            med, best = median_ms(lambda: orb.detectAndCompute(img, None), args.reps)
            out['orb'] = {'features': len(kps), 'medianMs': med, 'minMs': best, 'size': list(img.shape[::-1])}
        if args.desc_a and args.desc_b:
            a = np.fromfile(args.desc_a, dtype=np.uint8).reshape(-1, 32)
            b = np.fromfile(args.desc_b, dtype=np.uint8).reshape(-1, 32)
            bf = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
            matches = bf.match(a, b)
            med, best = median_ms(lambda: bf.match(a, b), args.reps)
            pairs = sorted((m.queryIdx, m.trainIdx) for m in matches)
            out['bfCrossCheck'] = {'n': len(a), 'm': len(b), 'matches': len(matches), 'medianMs': med, 'minMs': best,
                                   'pairsHash': hash(tuple(pairs)) & 0xffffffff, 'pairs': pairs}
    except ImportError as e:
        out['opencv'] = {'error': str(e)}
    if args.tum:
        try:
            import open3d as o3d
            import numpy as np
            lines = [l.split() for l in open(f'{args.tum}/associations.txt') if l.strip() and not l.startswith('#')]
            intr = o3d.camera.PinholeCameraIntrinsic(640, 480, 517.306408, 516.469215, 318.643040, 255.313989)
            frames = []
            for l in lines[: args.pairs + 1]:
                c = o3d.io.read_image(f'{args.tum}/{l[1]}')
                d = o3d.io.read_image(f'{args.tum}/{l[3]}')
                frames.append(o3d.geometry.RGBDImage.create_from_color_and_depth(c, d, depth_scale=5000.0, depth_trunc=4.0,
                                                                                  convert_rgb_to_intensity=True))
            times = []
            for i in range(len(frames) - 1):
                t = time.perf_counter()
                o3d.pipelines.odometry.compute_rgbd_odometry(frames[i + 1], frames[i], intr, np.identity(4),
                                                             o3d.pipelines.odometry.RGBDOdometryJacobianFromColorTerm(),
                                                             o3d.pipelines.odometry.OdometryOption())
                times.append((time.perf_counter() - t) * 1000)
            out['open3dOdometry'] = {'version': o3d.__version__, 'term': 'color', 'pairs': len(times),
                                     'medianMs': statistics.median(times), 'minMs': min(times)}
        except ImportError as e:
            out['open3dOdometry'] = {'error': str(e)}
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
