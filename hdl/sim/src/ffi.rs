//! The C entry points of the Verilator models, behind safe handle types. The only unsafe
//! code of the crate is here.
//!
//! Every DUT shares its handle operations (reset, clock, handshakes, free): they are one
//! set of C functions (`shim/model.cpp`, `vigil_model_*`) wrapped once by [`Model`]. A
//! DUT's type (`Blake3CompressModel`, ...) is a [`Model`] plus its own constructor and
//! ports (`shim/<dut>.cpp`), and reaches the shared operations through `Deref`.
//!
//! A [`Model`] owns one model (and its own `VerilatedContext`) from creation to `Drop`;
//! every method passes that live pointer. Handles are neither `Send` nor `Sync` (they
//! hold a raw pointer), so a model is only ever touched by the thread that made it.
//!
//! Built without Verilator (`cfg(vigil_no_verilator)`), [`Model`] is uninhabited and the
//! constructors return [`crate::SimError::NoVerilator`].

#![allow(unsafe_code)]

use std::ops::{Deref, DerefMut};

/// A DUT's handle type: a [`Model`] that derefs to the shared operations.
macro_rules! dut_models {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        pub(crate) struct $name(Model);

        impl Deref for $name {
            type Target = Model;
            fn deref(&self) -> &Model {
                &self.0
            }
        }

        impl DerefMut for $name {
            fn deref_mut(&mut self) -> &mut Model {
                &mut self.0
            }
        }
    )*};
}

dut_models! {
    /// One Verilator model of `vigil_blake3_compress` (TagWidth = 32).
    Blake3CompressModel;
    /// One Verilator model of `vigil_sha512_core` (TagWidth = 32).
    Sha512CoreModel;
    /// One Verilator model of `vigil_sc_reduce`.
    ScReduceModel;
    /// One Verilator model of `vigil_merkle_engine` (default parameters).
    MerkleEngineModel;
    /// One Verilator model of `vigil_fe_alu` (TagWidth = 32).
    FeAluModel;
    /// One Verilator model of `vigil_fe_addsub` (TagWidth = 32).
    FeAddSubModel;
    /// One Verilator model of `vigil_ed25519_engine` (TagWidth = 32).
    Ed25519EngineModel;
}

/// One Verilator model of `vigil_card_top`, BuildHash from build.rs: the default card
/// (one verification engine, one SHA-512 core) or a variant with more (build.rs's
/// `vigil_card_top_e<N>`), by its number of engines.
pub(crate) struct CardTopModel {
    model: Model,
    /// The shim entry points of the model built with this many engines.
    fns: &'static model::CardFns,
}

impl Deref for CardTopModel {
    type Target = Model;
    fn deref(&self) -> &Model {
        &self.model
    }
}

impl DerefMut for CardTopModel {
    fn deref_mut(&mut self) -> &mut Model {
        &mut self.model
    }
}

/// The numbers of verification engines the card models were built with (build.rs).
pub(crate) const CARD_ENGINES: &[u32] = &[1, 2, 4];

pub(crate) use model::Model;

/// Clock cycles [`Model::reset`] holds the reset for.
pub(crate) const RESET_CYCLES: u64 = 2;

#[cfg(not(vigil_no_verilator))]
mod model {
    use std::ffi::c_void;
    use std::ptr::NonNull;

    use super::{
        Blake3CompressModel, CardTopModel, Ed25519EngineModel, FeAddSubModel, FeAluModel,
        MerkleEngineModel, ScReduceModel, Sha512CoreModel, RESET_CYCLES,
    };
    use crate::card::{AxilIn, AxilOut};
    use crate::ed25519_engine::{EngineJob, EngineOut};
    use crate::SimError;

    extern "C" {
        fn vigil_model_free(h: *mut c_void);
        fn vigil_model_set_rst_n(h: *mut c_void, rst_n: u8);
        fn vigil_model_set_out_ready(h: *mut c_void, ready: u8);
        fn vigil_model_eval(h: *mut c_void);
        fn vigil_model_tick(h: *mut c_void);
        fn vigil_model_in_ready(h: *mut c_void) -> u8;
        fn vigil_model_out_valid(h: *mut c_void) -> u8;

        fn vigil_blake3_compress_new() -> *mut c_void;
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
        fn vigil_blake3_compress_out(h: *mut c_void, state: *mut u32, tag: *mut u32);

        fn vigil_sha512_core_new() -> *mut c_void;
        fn vigil_sha512_core_set_in(
            h: *mut c_void,
            valid: u8,
            data: u64,
            last: u8,
            bytes: u8,
            tag: u32,
        );
        fn vigil_sha512_core_out(h: *mut c_void, digest: *mut u32, k: *mut u32, tag: *mut u32);

        fn vigil_sc_reduce_new() -> *mut c_void;
        fn vigil_sc_reduce_set_in(h: *mut c_void, valid: u8, x: *const u32);
        fn vigil_sc_reduce_out(h: *mut c_void, k: *mut u32);

        fn vigil_merkle_engine_new() -> *mut c_void;
        fn vigil_merkle_engine_set_in(h: *mut c_void, valid: u8, data: u64, last: u8, nodes: u8);
        fn vigil_merkle_engine_out(
            h: *mut c_void,
            root: *mut u32,
            status: *mut u8,
            busy: *mut u8,
            compress: *mut u8,
        );

        fn vigil_ed25519_engine_new() -> *mut c_void;
        #[allow(clippy::too_many_arguments)]
        fn vigil_ed25519_engine_set_in(
            h: *mut c_void,
            valid: u8,
            profile: u8,
            s: *const u32,
            k: *const u32,
            a: *const u32,
            r: *const u32,
            tag: u32,
        );
        fn vigil_ed25519_engine_out(h: *mut c_void, tag: *mut u32) -> u32;

        fn vigil_fe_alu_new() -> *mut c_void;
        fn vigil_fe_alu_set_in(
            h: *mut c_void,
            valid: u8,
            op: u8,
            a: *const u32,
            b: *const u32,
            tag: u32,
        );
        fn vigil_fe_alu_out(h: *mut c_void, r: *mut u32, tag: *mut u32);

        fn vigil_fe_addsub_new() -> *mut c_void;
        fn vigil_fe_addsub_set_in(
            h: *mut c_void,
            valid: u8,
            sub: u8,
            dbl: u8,
            a: *const u32,
            b: *const u32,
            tag: u32,
        );
        fn vigil_fe_addsub_out(h: *mut c_void, r: *mut u32, tag: *mut u32);
    }

    /// One live Verilator model of some DUT, and the operations every DUT has.
    pub(crate) struct Model {
        h: NonNull<c_void>,
    }

    impl Model {
        /// Takes ownership of what a DUT's `_new` returned (C++ `new` aborts rather than
        /// return null; the check is for form's sake).
        fn adopt(h: *mut c_void, top: &'static str) -> Result<Model, SimError> {
            NonNull::new(h)
                .map(|h| Model { h })
                .ok_or(SimError::ModelCreation(top))
        }

        fn ptr(&self) -> *mut c_void {
            self.h.as_ptr()
        }

        pub(crate) fn set_rst_n(&mut self, rst_n: bool) {
            // SAFETY: self.h is a live model (made by a DUT's new, freed only in drop).
            unsafe { vigil_model_set_rst_n(self.ptr(), u8::from(rst_n)) }
        }

        pub(crate) fn set_out_ready(&mut self, ready: bool) {
            // SAFETY: self.h is a live model.
            unsafe { vigil_model_set_out_ready(self.ptr(), u8::from(ready)) }
        }

        pub(crate) fn eval(&mut self) {
            // SAFETY: self.h is a live model.
            unsafe { vigil_model_eval(self.ptr()) }
        }

        pub(crate) fn tick(&mut self) {
            // SAFETY: self.h is a live model.
            unsafe { vigil_model_tick(self.ptr()) }
        }

        pub(crate) fn in_ready(&self) -> bool {
            // SAFETY: self.h is a live model; the call only reads a port.
            unsafe { vigil_model_in_ready(self.ptr()) != 0 }
        }

        pub(crate) fn out_valid(&self) -> bool {
            // SAFETY: self.h is a live model; the call only reads a port.
            unsafe { vigil_model_out_valid(self.ptr()) != 0 }
        }

        /// Holds the (synchronous) reset for [`RESET_CYCLES`] with `out_ready` low, then
        /// releases it. The caller drives `in_valid` low first (through its DUT's
        /// `set_in`): whatever was in flight is dropped.
        pub(crate) fn reset(&mut self) {
            self.set_rst_n(false);
            self.set_out_ready(false);
            for _ in 0..RESET_CYCLES {
                self.eval();
                self.tick();
            }
            self.set_rst_n(true);
            self.eval();
        }
    }

    impl Drop for Model {
        fn drop(&mut self) {
            // SAFETY: self.h is live and is not used again after this.
            unsafe { vigil_model_free(self.ptr()) }
        }
    }

    impl Blake3CompressModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            // SAFETY: the constructor takes no arguments and returns a new model.
            let h = unsafe { vigil_blake3_compress_new() };
            Model::adopt(h, "vigil_blake3_compress").map(Self)
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
            // SAFETY: the model is live; cv and block point to 8 and 16 u32s, which is
            // what the shim reads, and only for the duration of the call.
            unsafe {
                vigil_blake3_compress_set_in(
                    self.ptr(),
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

        pub(crate) fn out(&self) -> ([u32; 16], u32) {
            let mut state = [0u32; 16];
            let mut tag = 0u32;
            // SAFETY: the model is live; state has room for the 16 words and tag for the
            // one word the shim writes.
            unsafe { vigil_blake3_compress_out(self.ptr(), state.as_mut_ptr(), &mut tag) };
            (state, tag)
        }
    }

    impl Sha512CoreModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            // SAFETY: the constructor takes no arguments and returns a new model.
            let h = unsafe { vigil_sha512_core_new() };
            Model::adopt(h, "vigil_sha512_core").map(Self)
        }

        pub(crate) fn set_in(&mut self, valid: bool, data: u64, last: bool, bytes: u8, tag: u32) {
            // SAFETY: the model is live; the arguments are plain values.
            unsafe {
                vigil_sha512_core_set_in(
                    self.ptr(),
                    u8::from(valid),
                    data,
                    u8::from(last),
                    bytes,
                    tag,
                )
            }
        }

        pub(crate) fn out(&self) -> ([u32; 16], [u32; 8], u32) {
            let mut digest = [0u32; 16];
            let mut k = [0u32; 8];
            let mut tag = 0u32;
            // SAFETY: the model is live; digest, k and tag have room for the 16, 8 and 1
            // words the shim writes.
            unsafe {
                vigil_sha512_core_out(self.ptr(), digest.as_mut_ptr(), k.as_mut_ptr(), &mut tag);
            }
            (digest, k, tag)
        }
    }

    impl ScReduceModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            // SAFETY: the constructor takes no arguments and returns a new model.
            let h = unsafe { vigil_sc_reduce_new() };
            Model::adopt(h, "vigil_sc_reduce").map(Self)
        }

        pub(crate) fn set_in(&mut self, valid: bool, x: &[u32; 16]) {
            // SAFETY: the model is live; x points to the 16 u32s the shim reads, only for
            // the duration of the call.
            unsafe { vigil_sc_reduce_set_in(self.ptr(), u8::from(valid), x.as_ptr()) }
        }

        pub(crate) fn out(&self) -> [u32; 8] {
            let mut k = [0u32; 8];
            // SAFETY: the model is live; k has room for the 8 words the shim writes.
            unsafe { vigil_sc_reduce_out(self.ptr(), k.as_mut_ptr()) };
            k
        }
    }

    impl MerkleEngineModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            // SAFETY: the constructor takes no arguments and returns a new model.
            let h = unsafe { vigil_merkle_engine_new() };
            Model::adopt(h, "vigil_merkle_engine").map(Self)
        }

        pub(crate) fn set_in(&mut self, valid: bool, data: u64, last: bool, nodes: bool) {
            // SAFETY: the model is live; the arguments are plain values.
            unsafe {
                vigil_merkle_engine_set_in(
                    self.ptr(),
                    u8::from(valid),
                    data,
                    u8::from(last),
                    u8::from(nodes),
                )
            }
        }

        /// (root words, status, busy, compress).
        pub(crate) fn out(&self) -> ([u32; 8], u8, bool, bool) {
            let mut root = [0u32; 8];
            let (mut status, mut busy, mut compress) = (0u8, 0u8, 0u8);
            // SAFETY: the model is live; root has room for the 8 words and the others for
            // the one byte each that the shim writes.
            unsafe {
                vigil_merkle_engine_out(
                    self.ptr(),
                    root.as_mut_ptr(),
                    &mut status,
                    &mut busy,
                    &mut compress,
                );
            }
            (root, status, busy != 0, compress != 0)
        }
    }

    /// The entry points of one card model's shim (shim/vigil_card_top.cpp, compiled once
    /// per model).
    pub(crate) struct CardFns {
        new: unsafe extern "C" fn() -> *mut c_void,
        set_in: unsafe extern "C" fn(*mut c_void, u8, u64, u8),
        out: unsafe extern "C" fn(*mut c_void, *mut u64, *mut u8),
        #[allow(clippy::type_complexity)]
        set_axil: unsafe extern "C" fn(*mut c_void, u8, u32, u8, u32, u8, u8, u8, u32, u8),
        axil: unsafe extern "C" fn(*mut c_void, *mut u32) -> u32,
    }

    /// Declares one card model's shim entry points (build.rs compiles
    /// shim/vigil_card_top.cpp once per model, its functions prefixed with the model's
    /// name) and names them as a [`CardFns`].
    macro_rules! card_shim {
        ($fns:ident: $new:ident, $set_in:ident, $out:ident, $set_axil:ident, $axil:ident) => {
            extern "C" {
                fn $new() -> *mut c_void;
                fn $set_in(h: *mut c_void, valid: u8, data: u64, last: u8);
                fn $out(h: *mut c_void, data: *mut u64, last: *mut u8);
                #[allow(clippy::too_many_arguments)]
                fn $set_axil(
                    h: *mut c_void,
                    awvalid: u8,
                    awaddr: u32,
                    wvalid: u8,
                    wdata: u32,
                    wstrb: u8,
                    bready: u8,
                    arvalid: u8,
                    araddr: u32,
                    rready: u8,
                );
                fn $axil(h: *mut c_void, rdata: *mut u32) -> u32;
            }
            const $fns: CardFns = CardFns {
                new: $new,
                set_in: $set_in,
                out: $out,
                set_axil: $set_axil,
                axil: $axil,
            };
        };
    }

    card_shim!(CARD_E1: vigil_card_top_new, vigil_card_top_set_in, vigil_card_top_out,
        vigil_card_top_set_axil, vigil_card_top_axil);
    card_shim!(CARD_E2: vigil_card_top_e2_new, vigil_card_top_e2_set_in,
        vigil_card_top_e2_out, vigil_card_top_e2_set_axil, vigil_card_top_e2_axil);
    card_shim!(CARD_E4: vigil_card_top_e4_new, vigil_card_top_e4_set_in,
        vigil_card_top_e4_out, vigil_card_top_e4_set_axil, vigil_card_top_e4_axil);

    /// The shim of the model with `engines` verification engines.
    fn card_fns(engines: u32) -> Option<&'static CardFns> {
        match engines {
            1 => Some(&CARD_E1),
            2 => Some(&CARD_E2),
            4 => Some(&CARD_E4),
            _ => None,
        }
    }

    impl CardTopModel {
        pub(crate) fn new(engines: u32) -> Result<Self, SimError> {
            let fns = card_fns(engines).ok_or(SimError::NoCardModel(engines))?;
            // SAFETY: the constructor takes no arguments and returns a new model.
            let h = unsafe { (fns.new)() };
            Model::adopt(h, "vigil_card_top").map(|model| CardTopModel { model, fns })
        }

        pub(crate) fn set_in(&mut self, valid: bool, data: u64, last: bool) {
            // SAFETY: the model is live and of this shim; the arguments are plain values.
            unsafe { (self.fns.set_in)(self.ptr(), u8::from(valid), data, u8::from(last)) }
        }

        /// The response stream's (data, last).
        pub(crate) fn out(&self) -> (u64, bool) {
            let (mut data, mut last) = (0u64, 0u8);
            // SAFETY: the model is live and of this shim; data and last are the one value
            // each the shim writes.
            unsafe { (self.fns.out)(self.ptr(), &mut data, &mut last) };
            (data, last != 0)
        }

        pub(crate) fn set_axil(&mut self, a: AxilIn) {
            // SAFETY: the model is live and of this shim; the arguments are plain values.
            unsafe {
                (self.fns.set_axil)(
                    self.ptr(),
                    u8::from(a.aw_valid),
                    a.aw_addr,
                    u8::from(a.w_valid),
                    a.w_data,
                    a.w_strb,
                    u8::from(a.b_ready),
                    u8::from(a.ar_valid),
                    a.ar_addr,
                    u8::from(a.r_ready),
                )
            }
        }

        pub(crate) fn axil(&self) -> AxilOut {
            let mut r_data = 0u32;
            // SAFETY: the model is live and of this shim; r_data is the one word the shim
            // writes.
            let bits = unsafe { (self.fns.axil)(self.ptr(), &mut r_data) };
            AxilOut {
                aw_ready: bits & 1 != 0,
                w_ready: bits & 2 != 0,
                b_valid: bits & 4 != 0,
                ar_ready: bits & 8 != 0,
                r_valid: bits & 16 != 0,
                r_data,
            }
        }
    }

    impl Ed25519EngineModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            // SAFETY: the constructor takes no arguments and returns a new model.
            let h = unsafe { vigil_ed25519_engine_new() };
            Model::adopt(h, "vigil_ed25519_engine").map(Self)
        }

        pub(crate) fn set_in(&mut self, valid: bool, job: &EngineJob) {
            // SAFETY: the model is live; the four arrays are the 8 u32s each that the
            // shim reads, only for the duration of the call.
            unsafe {
                vigil_ed25519_engine_set_in(
                    self.ptr(),
                    u8::from(valid),
                    job.profile,
                    job.s.as_ptr(),
                    job.k.as_ptr(),
                    job.a.as_ptr(),
                    job.r.as_ptr(),
                    job.tag,
                )
            }
        }

        /// The outputs: verdict, issues and the verdict's tag (busy_o, bit 1, unused).
        pub(crate) fn out(&self) -> EngineOut {
            let mut tag = 0u32;
            // SAFETY: the model is live; tag is the one word the shim writes.
            let bits = unsafe { vigil_ed25519_engine_out(self.ptr(), &mut tag) };
            EngineOut {
                ok: bits & 1 != 0,
                mul_issue: bits & 4 != 0,
                add_issue: bits & 8 != 0,
                tag,
            }
        }
    }

    impl FeAluModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            // SAFETY: the constructor takes no arguments and returns a new model.
            let h = unsafe { vigil_fe_alu_new() };
            Model::adopt(h, "vigil_fe_alu").map(Self)
        }

        pub(crate) fn set_in(&mut self, valid: bool, op: u8, a: &[u32; 8], b: &[u32; 8], tag: u32) {
            // SAFETY: the model is live; a and b point to the 8 u32s each that the shim
            // reads, only for the duration of the call.
            unsafe {
                vigil_fe_alu_set_in(self.ptr(), u8::from(valid), op, a.as_ptr(), b.as_ptr(), tag)
            }
        }

        /// (result words, tag).
        pub(crate) fn out(&self) -> ([u32; 8], u32) {
            let mut r = [0u32; 8];
            let mut tag = 0u32;
            // SAFETY: the model is live; r has room for the 8 words and tag for the one
            // word the shim writes.
            unsafe { vigil_fe_alu_out(self.ptr(), r.as_mut_ptr(), &mut tag) };
            (r, tag)
        }
    }

    impl FeAddSubModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            // SAFETY: the constructor takes no arguments and returns a new model.
            let h = unsafe { vigil_fe_addsub_new() };
            Model::adopt(h, "vigil_fe_addsub").map(Self)
        }

        pub(crate) fn set_in(
            &mut self,
            valid: bool,
            sub: bool,
            dbl: bool,
            a: &[u32; 8],
            b: &[u32; 8],
            tag: u32,
        ) {
            // SAFETY: the model is live; a and b point to the 8 u32s each that the shim
            // reads, only for the duration of the call.
            unsafe {
                vigil_fe_addsub_set_in(
                    self.ptr(),
                    u8::from(valid),
                    u8::from(sub),
                    u8::from(dbl),
                    a.as_ptr(),
                    b.as_ptr(),
                    tag,
                )
            }
        }

        /// (result words, tag).
        pub(crate) fn out(&self) -> ([u32; 8], u32) {
            let mut r = [0u32; 8];
            let mut tag = 0u32;
            // SAFETY: the model is live; r has room for the 8 words and tag for the one
            // word the shim writes.
            unsafe { vigil_fe_addsub_out(self.ptr(), r.as_mut_ptr(), &mut tag) };
            (r, tag)
        }
    }
}

#[cfg(vigil_no_verilator)]
mod model {
    use super::{
        Blake3CompressModel, CardTopModel, Ed25519EngineModel, FeAddSubModel, FeAluModel,
        MerkleEngineModel, ScReduceModel, Sha512CoreModel,
    };
    use crate::card::{AxilIn, AxilOut};
    use crate::ed25519_engine::{EngineJob, EngineOut};
    use crate::SimError;

    /// No shim without Verilator.
    pub(crate) struct CardFns;

    impl CardTopModel {
        pub(crate) fn new(_: u32) -> Result<Self, SimError> {
            Err(SimError::NoVerilator)
        }
        pub(crate) fn set_in(&mut self, _: bool, _: u64, _: bool) {
            let _ = self.fns;
            match self.model {}
        }
        pub(crate) fn out(&self) -> (u64, bool) {
            match self.model {}
        }
        pub(crate) fn set_axil(&mut self, _: AxilIn) {
            match self.model {}
        }
        pub(crate) fn axil(&self) -> AxilOut {
            match self.model {}
        }
    }

    /// Built without Verilator: there is no model, and no value of this type.
    pub(crate) enum Model {}

    #[allow(clippy::unused_self)]
    impl Model {
        pub(crate) fn set_rst_n(&mut self, _: bool) {
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
        pub(crate) fn reset(&mut self) {
            match *self {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    impl Blake3CompressModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            Err(SimError::NoVerilator)
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
            match self.0 {}
        }
        pub(crate) fn out(&self) -> ([u32; 16], u32) {
            match self.0 {}
        }
    }

    impl Sha512CoreModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            Err(SimError::NoVerilator)
        }
        pub(crate) fn set_in(&mut self, _: bool, _: u64, _: bool, _: u8, _: u32) {
            match self.0 {}
        }
        pub(crate) fn out(&self) -> ([u32; 16], [u32; 8], u32) {
            match self.0 {}
        }
    }

    impl ScReduceModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            Err(SimError::NoVerilator)
        }
        pub(crate) fn set_in(&mut self, _: bool, _: &[u32; 16]) {
            match self.0 {}
        }
        pub(crate) fn out(&self) -> [u32; 8] {
            match self.0 {}
        }
    }

    impl MerkleEngineModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            Err(SimError::NoVerilator)
        }
        pub(crate) fn set_in(&mut self, _: bool, _: u64, _: bool, _: bool) {
            match self.0 {}
        }
        pub(crate) fn out(&self) -> ([u32; 8], u8, bool, bool) {
            match self.0 {}
        }
    }

    impl Ed25519EngineModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            Err(SimError::NoVerilator)
        }
        pub(crate) fn set_in(&mut self, _: bool, _: &EngineJob) {
            match self.0 {}
        }
        pub(crate) fn out(&self) -> EngineOut {
            match self.0 {}
        }
    }

    impl FeAluModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            Err(SimError::NoVerilator)
        }
        pub(crate) fn set_in(&mut self, _: bool, _: u8, _: &[u32; 8], _: &[u32; 8], _: u32) {
            match self.0 {}
        }
        pub(crate) fn out(&self) -> ([u32; 8], u32) {
            match self.0 {}
        }
    }

    impl FeAddSubModel {
        pub(crate) fn new() -> Result<Self, SimError> {
            Err(SimError::NoVerilator)
        }
        pub(crate) fn set_in(
            &mut self,
            _: bool,
            _: bool,
            _: bool,
            _: &[u32; 8],
            _: &[u32; 8],
            _: u32,
        ) {
            match self.0 {}
        }
        pub(crate) fn out(&self) -> ([u32; 8], u32) {
            match self.0 {}
        }
    }
}
