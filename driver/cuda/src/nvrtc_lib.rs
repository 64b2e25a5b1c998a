//! NVRTC's C API, loaded at run time from whichever of NVRTC 13 and NVRTC 12 is
//! installed.
//!
//! cudarc binds NVRTC for the one CUDA major it is built for and looks only for that
//! major's library names (built for CUDA 12.4, so that the driver calls run on R550
//! drivers, it would never find a `libnvrtc.so.13`). A CUDA 12 node has NVRTC 12, a
//! CUDA 13 node NVRTC 13, and the few calls a compile takes have had the same C
//! signatures in both; so they are bound here, from the first library of [`NAMES`] that
//! loads. NVRTC finds its builtins library (`libnvrtc-builtins.so.*`) next to itself.
//!
//! This is the crate's only code that calls NVRTC, and the only unsafe code about it.

#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr, CString};

use libloading::Library;

/// Library names tried, in order: NVRTC 13, NVRTC 12, then an unversioned name (a
/// toolkit's development link).
pub const NAMES: [&str; 3] = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"];

type Program = *mut c_void;
type CreateFn = unsafe extern "C" fn(
    *mut Program,
    *const c_char,
    *const c_char,
    c_int,
    *const *const c_char,
    *const *const c_char,
) -> c_int;
type CompileFn = unsafe extern "C" fn(Program, c_int, *const *const c_char) -> c_int;
type SizeFn = unsafe extern "C" fn(Program, *mut usize) -> c_int;
type ReadFn = unsafe extern "C" fn(Program, *mut c_char) -> c_int;
type DestroyFn = unsafe extern "C" fn(*mut Program) -> c_int;
type ErrorFn = unsafe extern "C" fn(c_int) -> *const c_char;
type VersionFn = unsafe extern "C" fn(*mut c_int, *mut c_int) -> c_int;

/// A loaded NVRTC.
pub struct Nvrtc {
    lib: Library,
    /// The name it was loaded by.
    pub name: &'static str,
}

/// Why a compile failed: NVRTC's error and, when it has one, its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(pub String);

impl Nvrtc {
    /// The first of [`NAMES`] that loads, or `None`.
    pub fn open() -> Option<Nvrtc> {
        NAMES.iter().find_map(|&name| {
            // SAFETY: loading NVRTC runs its initialisers, which is what using it takes;
            // these names are NVIDIA's own library.
            let lib = unsafe { Library::new(name) }.ok()?;
            Some(Nvrtc { lib, name })
        })
    }

    fn symbol<T: Copy>(&self, name: &[u8]) -> Result<T, Failure> {
        // SAFETY: every caller names an NVRTC function with the type `T` that NVRTC 12
        // and 13 declare for it in nvrtc.h.
        unsafe { self.lib.get::<T>(name) }
            .map(|f| *f)
            .map_err(|e| Failure(format!("{}: {e}", self.name)))
    }

    /// The version as `major * 1000 + minor * 10`.
    pub fn version(&self) -> Result<i32, Failure> {
        let f: VersionFn = self.symbol(b"nvrtcVersion\0")?;
        let (mut major, mut minor) = (0, 0);
        // SAFETY: both pointers are to live ints the callee writes.
        let status = unsafe { f(&mut major, &mut minor) };
        if status != 0 {
            return Err(Failure(format!("nvrtcVersion returned error {status}")));
        }
        Ok(major * 1000 + minor * 10)
    }

    /// NVRTC's text for a status code.
    fn error(&self, status: c_int) -> String {
        let text = self
            .symbol::<ErrorFn>(b"nvrtcGetErrorString\0")
            // SAFETY: nvrtcGetErrorString returns a static NUL-terminated string (or
            // null), for any code.
            .map(|f| unsafe { f(status) })
            .ok()
            .filter(|p| !p.is_null())
            // SAFETY: non-null, NUL-terminated and static, as above.
            .map(|p| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned());
        text.unwrap_or_else(|| format!("NVRTC error {status}"))
    }

    /// Reads a NUL-terminated text whose size (terminator included) `size` reports.
    fn text(&self, prog: Program, size: &[u8], read: &[u8]) -> Result<String, Failure> {
        let size_fn: SizeFn = self.symbol(size)?;
        let read_fn: ReadFn = self.symbol(read)?;
        let mut n = 0usize;
        // SAFETY: `prog` is a live program; the callee writes one usize.
        let status = unsafe { size_fn(prog, &mut n) };
        if status != 0 {
            return Err(Failure(self.error(status)));
        }
        let mut buf = vec![0u8; n.max(1)];
        // SAFETY: `buf` holds the `n` bytes NVRTC said it writes.
        let status = unsafe { read_fn(prog, buf.as_mut_ptr().cast()) };
        if status != 0 {
            return Err(Failure(self.error(status)));
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
    }

    /// Compiles `source` (named `name` in messages) with `options`; the PTX, or NVRTC's
    /// error with its log.
    pub fn compile(&self, source: &str, name: &str, options: &[String]) -> Result<String, Failure> {
        let c = |s: &str| CString::new(s).map_err(|_| Failure(format!("NUL byte in {s:?}")));
        let (src, cname) = (c(source)?, c(name)?);
        let opts = options
            .iter()
            .map(|o| c(o))
            .collect::<Result<Vec<_>, _>>()?;
        let opt_ptrs: Vec<*const c_char> = opts.iter().map(|o| o.as_ptr()).collect();
        let count =
            c_int::try_from(opt_ptrs.len()).map_err(|_| Failure("too many options".into()))?;
        let create: CreateFn = self.symbol(b"nvrtcCreateProgram\0")?;
        let compile: CompileFn = self.symbol(b"nvrtcCompileProgram\0")?;
        let destroy: DestroyFn = self.symbol(b"nvrtcDestroyProgram\0")?;
        let mut prog: Program = std::ptr::null_mut();
        // SAFETY: the strings are NUL-terminated and outlive the call; no headers.
        let status = unsafe {
            create(
                &mut prog,
                src.as_ptr(),
                cname.as_ptr(),
                0,
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if status != 0 {
            return Err(Failure(self.error(status)));
        }
        // SAFETY: `prog` is the live program just created; the option pointers are
        // NUL-terminated strings that outlive the call.
        let status = unsafe { compile(prog, count, opt_ptrs.as_ptr()) };
        let result = if status == 0 {
            self.text(prog, b"nvrtcGetPTXSize\0", b"nvrtcGetPTX\0")
        } else {
            let log = self
                .text(prog, b"nvrtcGetProgramLogSize\0", b"nvrtcGetProgramLog\0")
                .unwrap_or_default();
            Err(Failure(format!("{}\n{log}", self.error(status))))
        };
        // SAFETY: `prog` is live and destroyed once, here.
        unsafe { destroy(&mut prog) };
        result
    }
}
