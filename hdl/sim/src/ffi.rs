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
}

pub(crate) use model::Blake3CompressModel;
