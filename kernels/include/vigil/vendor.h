/*
 * vendor.h: the only file that knows which compiler it is under.
 *
 * Library files (field, group, scalar, SHA-512, BLAKE3) are written against the
 * vocabulary below and never test for OpenCL or CUDA themselves; see kernels/README.md
 * for the list and what each word means under each compiler. Supported compilers:
 *
 *   - OpenCL C 1.2 (any conformant driver; PoCL in CI);
 *   - CUDA C++ through NVRTC (the CUDA backend compiles at start-up);
 *   - CUDA C++ through clang's CUDA front end with -nocudainc -nocudalib (CI's dialect
 *     check: no CUDA headers, so the execution-space attributes are spelled out here).
 */
#ifndef VIGIL_VENDOR_H
#define VIGIL_VENDOR_H

/* Work-items per group (threads per block) of the one-item-per-signature and
 * one-item-per-leaf kernels; the host launches with this (kernels/src/launch.rs). */
#define VIGIL_GROUP 64

/*
 * VIGIL_KERNEL_MAXREG(n) declares an entry point whose threads must fit in n registers
 * under CUDA (__maxnreg__, CUDA 12.4 and later): the Ed25519 kernels take the smallest
 * cap at which ptxas keeps them free of spills (kernels/cuda-budget.tsv). OpenCL has no
 * such bound; its compiler decides.
 */

#if defined(__OPENCL_VERSION__) || defined(__OPENCL_C_VERSION__)

#define VIGIL_OPENCL 1

typedef uchar u8;
typedef uint u32;
typedef ulong u64;
typedef int i32;
typedef long i64;

/* A kernel entry point (extern "C" under CUDA, so it keeps its name). */
#define VIGIL_KERNEL __kernel void
#define VIGIL_KERNEL_MAXREG(n) __kernel void
/* Pointer to device memory written or read by the host. */
#define VIGIL_GLOBAL __global
/* A read-only table at file scope, placed in constant memory. */
#define VIGIL_CONSTANT __constant
/* Memory shared by the work-items of one work-group / thread block. */
#define VIGIL_LOCAL __local
/* Qualifier of a pointer to such memory (CUDA's pointers need none). */
#define VIGIL_LOCAL_PTR __local
/* A library function: inlined where the compiler sees fit. */
#define VIGIL_DEVICE static inline
/* The index of this work-item in the whole launch (one dimension). */
#define VIGIL_GLOBAL_ID() ((u32)get_global_id(0))
/* The index of this work-item within its group, and the group's size. */
#define VIGIL_LOCAL_ID() ((u32)get_local_id(0))
#define VIGIL_LOCAL_SIZE() ((u32)get_local_size(0))
/* Wait for the whole work-group; local-memory writes before it are seen after it. */
#define VIGIL_BARRIER() barrier(CLK_LOCAL_MEM_FENCE)
/* Pointer qualifier promising no aliasing. */
#define VIGIL_RESTRICT restrict

#elif defined(__CUDACC__) || defined(__CUDACC_RTC__) || defined(__CUDA__)

#define VIGIL_CUDA 1

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int i32;
typedef long long i64;

/* Without CUDA headers (clang -nocudainc) the execution-space keywords are not
 * defined; NVRTC and nvcc define them. The attributes are what those headers use. */
#ifndef __global__
#define __global__ __attribute__((global))
#endif
#ifndef __device__
#define __device__ __attribute__((device))
#endif
#ifndef __constant__
#define __constant__ __attribute__((constant))
#endif
#ifndef __shared__
#define __shared__ __attribute__((shared))
#endif

#define VIGIL_KERNEL extern "C" __global__ void
#define VIGIL_KERNEL_MAXREG(n) extern "C" __global__ void __maxnreg__(n)
#define VIGIL_GLOBAL
#define VIGIL_CONSTANT __constant__
#define VIGIL_LOCAL __shared__
#define VIGIL_LOCAL_PTR
#define VIGIL_DEVICE static __device__ inline
#define VIGIL_RESTRICT __restrict__

#if defined(__clang__) && !defined(__CUDACC_RTC__) && !defined(__CUDA_ARCH_LIST__) && \
    !defined(__CUDA_RUNTIME_H__)
/* clang has no register-cap attribute: the cap is checked where it applies, by
 * NVRTC and ptxas (kernels/cuda-check.sh). */
#define __maxnreg__(n)
/* clang without the CUDA headers: read the PTX special registers directly. */
#define VIGIL_GLOBAL_ID() \
  ((u32)(__nvvm_read_ptx_sreg_ctaid_x() * __nvvm_read_ptx_sreg_ntid_x() + \
         __nvvm_read_ptx_sreg_tid_x()))
#define VIGIL_LOCAL_ID() ((u32)__nvvm_read_ptx_sreg_tid_x())
#define VIGIL_LOCAL_SIZE() ((u32)__nvvm_read_ptx_sreg_ntid_x())
#define VIGIL_BARRIER() __syncthreads()
#else
#define VIGIL_GLOBAL_ID() ((u32)(blockIdx.x * blockDim.x + threadIdx.x))
#define VIGIL_LOCAL_ID() ((u32)threadIdx.x)
#define VIGIL_LOCAL_SIZE() ((u32)blockDim.x)
#define VIGIL_BARRIER() __syncthreads()
#endif

#else
#error "vendor.h: compile as OpenCL C or as CUDA C++"
#endif

#endif /* VIGIL_VENDOR_H */
