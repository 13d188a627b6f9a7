/* float64 helpers of the CPU's MASt3R similarity bodies (mast3r_similarity.h).
 * The bodies every backend runs use mast3r_real.h instead (float64, or
 * float-float on Metal, which has no double). */
#ifndef SS_KERNEL_MAST3R_COMMON_H
#define SS_KERNEL_MAST3R_COMMON_H

#if defined(SS_BACKEND_CPU_COMPILE)
ss_device_inline double mast3r_sqrt_d(double v) { return std::sqrt(v); }
ss_device_inline double mast3r_log_d(double v) { return std::log(v); }
ss_device_inline double mast3r_exp_d(double v) { return std::exp(v); }
ss_device_inline double mast3r_cos_d(double v) { return std::cos(v); }
ss_device_inline double mast3r_sin_d(double v) { return std::sin(v); }
ss_device_inline double mast3r_rint_d(double v) { return std::nearbyint(v); }
#elif defined(__CUDACC__)
ss_device_inline double mast3r_sqrt_d(double v) { return sqrt(v); }
ss_device_inline double mast3r_log_d(double v) { return log(v); }
ss_device_inline double mast3r_exp_d(double v) { return exp(v); }
ss_device_inline double mast3r_cos_d(double v) { return cos(v); }
ss_device_inline double mast3r_sin_d(double v) { return sin(v); }
ss_device_inline double mast3r_rint_d(double v) { return rint(v); }
#endif

/* finite without relying on fast-math-sensitive isfinite */
ss_device_inline bool mast3r_finite_d(double v) { return v - v == 0.0; }

#endif
