//! The C entry points of the Verilator models (`hdl/sim/shim/<dut>.cpp`), behind safe
//! handle types. The only unsafe code of the crate is here.
//!
//! Each handle owns one model (and its own `VerilatedContext`) from creation to `Drop`;
//! every method passes that live pointer. Handles are neither `Send` nor `Sync` (they
//! hold a raw pointer), so a model is only ever touched by the thread that made it.
//!
//! Built without Verilator (`cfg(vigil_no_verilator)`), the handle types are uninhabited
//! and their constructors return [`crate::SimError::NoVerilator`].

#![allow(unsafe_code)]

#[cfg(not(vigil_no_verilator))]
mod model {
    use std::ffi::c_void;
    use std::ptr::NonNull;

    use crate::SimError;

    extern "C" {
        fn vigil_blake3_compress_new() -> *mut c_void;
        fn vigil_blake3_compress_free(h: *mut c_void);
        fn vigil_blake3_compress_set_rst_n(h: *mut c_void, rst_n: u8);
        fn vigil_blake3_compress_set_in(
            h: *mut c_void,
            valid: u8,
            cv: *const u32,
            block: *const u32,
            counter: u64,
            block_len: u32,
            flags: u32,
            tag: u32,
        );
        fn vigil_blake3_compress_set_out_ready(h: *mut c_void, ready: u8);
        fn vigil_blake3_compress_eval(h: *mut c_void);
        fn vigil_blake3_compress_tick(h: *mut c_void);
        fn vigil_blake3_compress_in_ready(h: *mut c_void) -> u8;
        fn vigil_blake3_compress_out_valid(h: *mut c_void) -> u8;
        fn vigil_blake3_compress_out(h: *mut c_void, state: *mut u32, tag: *mut u32);
    }

    /// One Verilator model of `vigil_blake3_compress` (TagWidth = 32).
    pub(crate) struct Blake3CompressModel {
        h: NonNull<c_void>,
    }

    impl Blake3CompressModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            // SAFETY: the constructor takes no arguments and returns a new model (C++
            // `new` aborts rather than return null; the check is for form's sake).
            let h = unsafe { vigil_blake3_compress_new() };
            NonNull::new(h)
                .map(|h| Blake3CompressModel { h })
                .ok_or(SimError::ModelCreation("vigil_blake3_compress"))
        }

        pub(crate) fn set_rst_n(&mut self, rst_n: bool) {
            // SAFETY: self.h is a live model (made by new, freed only in drop).
            unsafe { vigil_blake3_compress_set_rst_n(self.h.as_ptr(), u8::from(rst_n)) }
        }

        #[allow(clippy::too_many_arguments)]
        pub(crate) fn set_in(
            &mut self,
            valid: bool,
            cv: &[u32; 8],
            block: &[u32; 16],
            counter: u64,
            block_len: u32,
            flags: u32,
            tag: u32,
        ) {
            // SAFETY: self.h is a live model; cv and block point to 8 and 16 u32s, which
            // is what the shim reads, and only for the duration of the call.
            unsafe {
                vigil_blake3_compress_set_in(
                    self.h.as_ptr(),
                    u8::from(valid),
                    cv.as_ptr(),
                    block.as_ptr(),
                    counter,
                    block_len,
                    flags,
                    tag,
                )
            }
        }

        pub(crate) fn set_out_ready(&mut self, ready: bool) {
            // SAFETY: self.h is a live model.
            unsafe { vigil_blake3_compress_set_out_ready(self.h.as_ptr(), u8::from(ready)) }
        }

        pub(crate) fn eval(&mut self) {
            // SAFETY: self.h is a live model.
            unsafe { vigil_blake3_compress_eval(self.h.as_ptr()) }
        }

        pub(crate) fn tick(&mut self) {
            // SAFETY: self.h is a live model.
            unsafe { vigil_blake3_compress_tick(self.h.as_ptr()) }
        }

        pub(crate) fn in_ready(&self) -> bool {
            // SAFETY: self.h is a live model; the call only reads a port.
            unsafe { vigil_blake3_compress_in_ready(self.h.as_ptr()) != 0 }
        }

        pub(crate) fn out_valid(&self) -> bool {
            // SAFETY: self.h is a live model; the call only reads a port.
            unsafe { vigil_blake3_compress_out_valid(self.h.as_ptr()) != 0 }
        }

        pub(crate) fn out(&self) -> ([u32; 16], u32) {
            let mut state = [0u32; 16];
            let mut tag = 0u32;
            // SAFETY: self.h is a live model; state has room for the 16 words and tag for
            // the one word the shim writes.
            unsafe { vigil_blake3_compress_out(self.h.as_ptr(), state.as_mut_ptr(), &mut tag) };
            (state, tag)
        }
    }

    impl Drop for Blake3CompressModel {
        fn drop(&mut self) {
            // SAFETY: self.h is live and is not used again after this.
            unsafe { vigil_blake3_compress_free(self.h.as_ptr()) }
        }
    }

    extern "C" {
        fn vigil_sha512_core_new() -> *mut c_void;
        fn vigil_sha512_core_free(h: *mut c_void);
        fn vigil_sha512_core_set_rst_n(h: *mut c_void, rst_n: u8);
        fn vigil_sha512_core_set_in(
            h: *mut c_void,
            valid: u8,
            data: u64,
            last: u8,
            bytes: u8,
            tag: u32,
        );
        fn vigil_sha512_core_set_out_ready(h: *mut c_void, ready: u8);
        fn vigil_sha512_core_eval(h: *mut c_void);
        fn vigil_sha512_core_tick(h: *mut c_void);
        fn vigil_sha512_core_in_ready(h: *mut c_void) -> u8;
        fn vigil_sha512_core_out_valid(h: *mut c_void) -> u8;
        fn vigil_sha512_core_out(h: *mut c_void, digest: *mut u32, k: *mut u32, tag: *mut u32);

        fn vigil_sc_reduce_new() -> *mut c_void;
        fn vigil_sc_reduce_free(h: *mut c_void);
        fn vigil_sc_reduce_set_rst_n(h: *mut c_void, rst_n: u8);
        fn vigil_sc_reduce_set_in(h: *mut c_void, valid: u8, x: *const u32);
        fn vigil_sc_reduce_set_out_ready(h: *mut c_void, ready: u8);
        fn vigil_sc_reduce_eval(h: *mut c_void);
        fn vigil_sc_reduce_tick(h: *mut c_void);
        fn vigil_sc_reduce_in_ready(h: *mut c_void) -> u8;
        fn vigil_sc_reduce_out_valid(h: *mut c_void) -> u8;
        fn vigil_sc_reduce_out(h: *mut c_void, k: *mut u32);
    }

    /// One Verilator model of `vigil_sha512_core` (TagWidth = 32).
    pub(crate) struct Sha512CoreModel {
        h: NonNull<c_void>,
    }

    impl Sha512CoreModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            // SAFETY: the constructor takes no arguments and returns a new model.
            let h = unsafe { vigil_sha512_core_new() };
            NonNull::new(h)
                .map(|h| Sha512CoreModel { h })
                .ok_or(SimError::ModelCreation("vigil_sha512_core"))
        }

        pub(crate) fn set_rst_n(&mut self, rst_n: bool) {
            // SAFETY: self.h is a live model (made by new, freed only in drop).
            unsafe { vigil_sha512_core_set_rst_n(self.h.as_ptr(), u8::from(rst_n)) }
        }

        pub(crate) fn set_in(&mut self, valid: bool, data: u64, last: bool, bytes: u8, tag: u32) {
            // SAFETY: self.h is a live model; the arguments are plain values.
            unsafe {
                vigil_sha512_core_set_in(
                    self.h.as_ptr(),
                    u8::from(valid),
                    data,
                    u8::from(last),
                    bytes,
                    tag,
                )
            }
        }

        pub(crate) fn set_out_ready(&mut self, ready: bool) {
            // SAFETY: self.h is a live model.
            unsafe { vigil_sha512_core_set_out_ready(self.h.as_ptr(), u8::from(ready)) }
        }

        pub(crate) fn eval(&mut self) {
            // SAFETY: self.h is a live model.
            unsafe { vigil_sha512_core_eval(self.h.as_ptr()) }
        }

        pub(crate) fn tick(&mut self) {
            // SAFETY: self.h is a live model.
            unsafe { vigil_sha512_core_tick(self.h.as_ptr()) }
        }

        pub(crate) fn in_ready(&self) -> bool {
            // SAFETY: self.h is a live model; the call only reads a port.
            unsafe { vigil_sha512_core_in_ready(self.h.as_ptr()) != 0 }
        }

        pub(crate) fn out_valid(&self) -> bool {
            // SAFETY: self.h is a live model; the call only reads a port.
            unsafe { vigil_sha512_core_out_valid(self.h.as_ptr()) != 0 }
        }

        pub(crate) fn out(&self) -> ([u32; 16], [u32; 8], u32) {
            let mut digest = [0u32; 16];
            let mut k = [0u32; 8];
            let mut tag = 0u32;
            // SAFETY: self.h is a live model; digest, k and tag have room for the 16, 8
            // and 1 words the shim writes.
            unsafe {
                vigil_sha512_core_out(
                    self.h.as_ptr(),
                    digest.as_mut_ptr(),
                    k.as_mut_ptr(),
                    &mut tag,
                );
            }
            (digest, k, tag)
        }
    }

    impl Drop for Sha512CoreModel {
        fn drop(&mut self) {
            // SAFETY: self.h is live and is not used again after this.
            unsafe { vigil_sha512_core_free(self.h.as_ptr()) }
        }
    }

    /// One Verilator model of `vigil_sc_reduce`.
    pub(crate) struct ScReduceModel {
        h: NonNull<c_void>,
    }

    impl ScReduceModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            // SAFETY: the constructor takes no arguments and returns a new model.
            let h = unsafe { vigil_sc_reduce_new() };
            NonNull::new(h)
                .map(|h| ScReduceModel { h })
                .ok_or(SimError::ModelCreation("vigil_sc_reduce"))
        }

        pub(crate) fn set_rst_n(&mut self, rst_n: bool) {
            // SAFETY: self.h is a live model (made by new, freed only in drop).
            unsafe { vigil_sc_reduce_set_rst_n(self.h.as_ptr(), u8::from(rst_n)) }
        }

        pub(crate) fn set_in(&mut self, valid: bool, x: &[u32; 16]) {
            // SAFETY: self.h is a live model; x points to the 16 u32s the shim reads,
            // only for the duration of the call.
            unsafe { vigil_sc_reduce_set_in(self.h.as_ptr(), u8::from(valid), x.as_ptr()) }
        }

        pub(crate) fn set_out_ready(&mut self, ready: bool) {
            // SAFETY: self.h is a live model.
            unsafe { vigil_sc_reduce_set_out_ready(self.h.as_ptr(), u8::from(ready)) }
        }

        pub(crate) fn eval(&mut self) {
            // SAFETY: self.h is a live model.
            unsafe { vigil_sc_reduce_eval(self.h.as_ptr()) }
        }

        pub(crate) fn tick(&mut self) {
            // SAFETY: self.h is a live model.
            unsafe { vigil_sc_reduce_tick(self.h.as_ptr()) }
        }

        pub(crate) fn in_ready(&self) -> bool {
            // SAFETY: self.h is a live model; the call only reads a port.
            unsafe { vigil_sc_reduce_in_ready(self.h.as_ptr()) != 0 }
        }

        pub(crate) fn out_valid(&self) -> bool {
            // SAFETY: self.h is a live model; the call only reads a port.
            unsafe { vigil_sc_reduce_out_valid(self.h.as_ptr()) != 0 }
        }

        pub(crate) fn out(&self) -> [u32; 8] {
            let mut k = [0u32; 8];
            // SAFETY: self.h is a live model; k has room for the 8 words the shim writes.
            unsafe { vigil_sc_reduce_out(self.h.as_ptr(), k.as_mut_ptr()) };
            k
        }
    }

    impl Drop for ScReduceModel {
        fn drop(&mut self) {
            // SAFETY: self.h is live and is not used again after this.
            unsafe { vigil_sc_reduce_free(self.h.as_ptr()) }
        }
    }
}

#[cfg(vigil_no_verilator)]
mod model {
    use crate::SimError;

    /// Built without Verilator: there is no model, and no value of this type.
    pub(crate) enum Blake3CompressModel {}

    #[allow(clippy::unused_self, clippy::too_many_arguments)]
    impl Blake3CompressModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            Err(SimError::NoVerilator)
        }
        pub(crate) fn set_rst_n(&mut self, _: bool) {
            match *self {}
        }
        pub(crate) fn set_in(
            &mut self,
            _: bool,
            _: &[u32; 8],
            _: &[u32; 16],
            _: u64,
            _: u32,
            _: u32,
            _: u32,
        ) {
            match *self {}
        }
        pub(crate) fn set_out_ready(&mut self, _: bool) {
            match *self {}
        }
        pub(crate) fn eval(&mut self) {
            match *self {}
        }
        pub(crate) fn tick(&mut self) {
            match *self {}
        }
        pub(crate) fn in_ready(&self) -> bool {
            match *self {}
        }
        pub(crate) fn out_valid(&self) -> bool {
            match *self {}
        }
        pub(crate) fn out(&self) -> ([u32; 16], u32) {
            match *self {}
        }
    }

    /// Built without Verilator: there is no model, and no value of this type.
    pub(crate) enum Sha512CoreModel {}

    #[allow(clippy::unused_self)]
    impl Sha512CoreModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            Err(SimError::NoVerilator)
        }
        pub(crate) fn set_rst_n(&mut self, _: bool) {
            match *self {}
        }
        pub(crate) fn set_in(&mut self, _: bool, _: u64, _: bool, _: u8, _: u32) {
            match *self {}
        }
        pub(crate) fn set_out_ready(&mut self, _: bool) {
            match *self {}
        }
        pub(crate) fn eval(&mut self) {
            match *self {}
        }
        pub(crate) fn tick(&mut self) {
            match *self {}
        }
        pub(crate) fn in_ready(&self) -> bool {
            match *self {}
        }
        pub(crate) fn out_valid(&self) -> bool {
            match *self {}
        }
        pub(crate) fn out(&self) -> ([u32; 16], [u32; 8], u32) {
            match *self {}
        }
    }

    /// Built without Verilator: there is no model, and no value of this type.
    pub(crate) enum ScReduceModel {}

    #[allow(clippy::unused_self)]
    impl ScReduceModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            Err(SimError::NoVerilator)
        }
        pub(crate) fn set_rst_n(&mut self, _: bool) {
            match *self {}
        }
        pub(crate) fn set_in(&mut self, _: bool, _: &[u32; 16]) {
            match *self {}
        }
        pub(crate) fn set_out_ready(&mut self, _: bool) {
            match *self {}
        }
        pub(crate) fn eval(&mut self) {
            match *self {}
        }
        pub(crate) fn tick(&mut self) {
            match *self {}
        }
        pub(crate) fn in_ready(&self) -> bool {
            match *self {}
        }
        pub(crate) fn out_valid(&self) -> bool {
            match *self {}
        }
        pub(crate) fn out(&self) -> [u32; 8] {
            match *self {}
        }
    }
}

pub(crate) use model::Blake3CompressModel;
pub(crate) use model::{ScReduceModel, Sha512CoreModel};
