"""MASt3R's post-processing functions on scanstream's native kernels (CPU, CUDA or Metal).

Same names, signatures, defaults and results as MASt3R's (mast3r/fast_nn.py,
cloud_opt/triangulation.py, losses.py, cloud_opt/tsdf_optimizer.py and dust3r's
utils/geometry.py); numpy in gives numpy out, torch tensors in give tensors out
(matchers return numpy, as MASt3R's do). To speed up an existing MASt3R script:

    import scanstream.mast3r
    scanstream.mast3r.patch()

The backend is SCANSTREAM_BACKEND's (cpu, cuda, metal, metal-emu; auto by default);
SCANSTREAM_LIB names a library directly, SCANSTREAM_ROOT the checkout it was built in.
"""

from .._arrays import Mast3rInputError, Unsupported
from ._geometry import depthmap_to_pts3d, geotrf
from ._losses import get_similarities, infonce_loss
from ._matching import bruteforce_reciprocal_nns, fast_reciprocal_NNs, merge_corres
from ._patch import PatchReport, is_patched, patch, patch_stats, unpatch
from ._triangulation import batched_triangulate, matches_to_depths
from ._tsdf import refine_depths_tsdf

__all__ = [
    'bruteforce_reciprocal_nns', 'fast_reciprocal_NNs', 'merge_corres', 'depthmap_to_pts3d', 'geotrf',
    'batched_triangulate', 'matches_to_depths', 'get_similarities', 'infonce_loss', 'refine_depths_tsdf',
    'patch', 'unpatch', 'is_patched', 'patch_stats', 'PatchReport', 'Mast3rInputError', 'Unsupported',
]
