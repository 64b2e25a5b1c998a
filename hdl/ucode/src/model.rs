//! A bit-exact model of one engine context running the program.
//!
//! It executes the encoded instructions with the engine's semantics (operand modes,
//! table digits, flags, the loop counter) in big-integer arithmetic, and it is strict
//! where the hardware is not: reading a register or flag that this signature has not
//! written is an error (in the engine it would hold the previous signature's value), as
//! is an unknown instruction or a program that does not halt. The tests run it against
//! the reference verifiers on every edge case, so the program is known right before the
//! RTL runs it; the RTL's testbench then holds the RTL to the same verdicts.

use crate::field::{self, Fe};
use crate::isa::{flag, konst, Instr, Op, Src, FLAGS, REGS, TABLE_BASE, WINDOWS};

/// Profile codes, as the VERIFY request and the engine carry them.
pub mod profile {
    /// `strict`.
    pub const STRICT: u8 = 0;
    /// `rfc8032`.
    pub const RFC8032: u8 = 1;
    /// `zip215`.
    pub const ZIP215: u8 = 2;
}

/// One signature as the engine receives it: k already computed by the SHA-512 front end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Profile code ([`profile`]).
    pub profile: u8,
    /// S, the signature's second half, as received.
    pub s: [u8; 32],
    /// k = SHA-512(R || A || M) mod L, little-endian.
    pub k: [u8; 32],
    /// A's encoding as received.
    pub a: [u8; 32],
    /// R's encoding as received.
    pub r: [u8; 32],
}

/// Why the model stopped without a verdict: a defect in the program, never in the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// An instruction read a register this signature has not written.
    #[error("pc {pc}: register {reg} read before it was written")]
    UndefinedRegister {
        /// Program counter.
        pc: usize,
        /// Register.
        reg: usize,
    },
    /// An instruction read a flag this signature has not written.
    #[error("pc {pc}: flag {flag} read before it was written")]
    UndefinedFlag {
        /// Program counter.
        pc: usize,
        /// Flag.
        flag: usize,
    },
    /// An operand the engine does not decode.
    #[error("pc {pc}: operand {src:?} does not exist")]
    BadOperand {
        /// Program counter.
        pc: usize,
        /// The operand.
        src: Src,
    },
    /// The program ran off its end or past the step limit.
    #[error("the program did not halt (pc {pc} after {steps} steps)")]
    NoHalt {
        /// Program counter.
        pc: usize,
        /// Instructions executed.
        steps: usize,
    },
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The verdict.
    pub valid: bool,
    /// Instructions issued, HALT included: the engine's issue slots for one signature.
    pub issued: usize,
    /// Of those, operations through the field ALU.
    pub alu_ops: usize,
}

/// The flags the engine presets at load, from the job (see [`flag`]).
pub fn preset_flags(job: &Job) -> [bool; flag::PRESET as usize] {
    let mask = field::mask255();
    let ya = field::from_le(&job.a) & &mask;
    let yr = field::from_le(&job.r) & &mask;
    [
        job.a[31] & 0x80 != 0,
        job.r[31] & 0x80 != 0,
        &ya >= field::p(),
        &yr >= field::p(),
        &field::from_le(&job.s) < field::l(),
        job.profile == profile::STRICT,
        job.profile == profile::RFC8032,
        job.profile == profile::ZIP215,
    ]
}

/// Runs `code` on `job`.
pub fn run(code: &[u64], job: &Job) -> Result<Outcome, ModelError> {
    let decoded: Vec<Option<Instr>> = code.iter().map(|&w| Instr::decode(w)).collect();
    let mask = field::mask255();
    let in_ya = field::from_le(&job.a) & &mask;
    let in_yr = field::from_le(&job.r) & &mask;
    let consts = [
        Fe::default(),
        Fe::from(1u8),
        field::d().clone(),
        field::d2(),
        field::sqrt_m1().clone(),
        in_ya,
        in_yr,
    ];
    let btab = field::base_table();
    let s = field::from_le(&job.s);
    let k = field::from_le(&job.k);
    let digit = |v: &Fe, win: u8| -> usize {
        (0..4)
            .map(|i| usize::from(v.bit(4 * u64::from(win) + i)) << i)
            .sum()
    };

    let mut regs: Vec<Option<Fe>> = vec![None; REGS];
    let mut flags: [Option<bool>; FLAGS] = [None; FLAGS];
    for (f, v) in flags.iter_mut().zip(preset_flags(job)) {
        *f = Some(v);
    }
    let mut win = WINDOWS - 1;
    let mut pc = 0usize;
    let mut issued = 0usize;
    let mut alu_ops = 0usize;
    // Far above the program's real length; only a runaway program gets here.
    let limit = 100_000;

    loop {
        let Some(Some(ins)) = decoded.get(pc) else {
            return Err(ModelError::NoHalt { pc, steps: issued });
        };
        if issued >= limit {
            return Err(ModelError::NoHalt { pc, steps: issued });
        }
        issued += 1;
        // The engine reads the tables through operand b only.
        let read_as = |bits: u16, b_side: bool| -> Result<Fe, ModelError> {
            let src = Src::decode(bits);
            let reg = |i: usize| {
                regs.get(i)
                    .cloned()
                    .flatten()
                    .ok_or(ModelError::UndefinedRegister { pc, reg: i })
            };
            match src {
                Src::Reg(i) => reg(usize::from(i)),
                Src::TabA(c) if b_side => {
                    reg(usize::from(TABLE_BASE) + 4 * digit(&k, win) + usize::from(c))
                }
                Src::TabB(c) if b_side && c < 3 => Ok(btab[digit(&s, win)][usize::from(c)].clone()),
                Src::Const(i) if i < konst::COUNT => Ok(consts[usize::from(i)].clone()),
                _ => Err(ModelError::BadOperand { pc, src }),
            }
        };
        let read = |bits: u16| read_as(bits, false);
        let read_b = |bits: u16| read_as(bits, true);
        let read_flag = |bits: u16| -> Result<bool, ModelError> {
            let i = usize::from(bits) & (FLAGS - 1);
            flags[i].ok_or(ModelError::UndefinedFlag { pc, flag: i })
        };
        let dst_reg = usize::from(ins.dst) & (REGS - 1);
        let dst_flag = usize::from(ins.dst) & (FLAGS - 1);
        let sel_flag = usize::from(ins.f) & (FLAGS - 1);
        let invert = ins.f & crate::isa::F_INVERT != 0;
        let mut next = pc + 1;
        if ins.op.uses_alu() {
            alu_ops += 1;
        }
        match ins.op {
            Op::Mul => regs[dst_reg] = Some(field::mul(&read(ins.a)?, &read_b(ins.b)?)),
            Op::Add => regs[dst_reg] = Some(field::add(&read(ins.a)?, &read_b(ins.b)?)),
            Op::Sub => regs[dst_reg] = Some(field::sub(&read(ins.a)?, &read_b(ins.b)?)),
            Op::Csel => {
                let f = flags[sel_flag].ok_or(ModelError::UndefinedFlag { pc, flag: sel_flag })?;
                let v = if f { read(ins.a)? } else { read_b(ins.b)? };
                regs[dst_reg] = Some(field::add(&v, &Fe::default()));
            }
            Op::Cneg => {
                let f = flags[sel_flag].ok_or(ModelError::UndefinedFlag { pc, flag: sel_flag })?;
                let v = read(ins.a)?;
                regs[dst_reg] = Some(if f {
                    field::sub(&Fe::default(), &v)
                } else {
                    field::sub(&v, &Fe::default())
                });
            }
            Op::Eq => flags[dst_flag] = Some(read(ins.a)? == read_b(ins.b)?),
            Op::Odd => flags[dst_flag] = Some(read(ins.a)?.bit(0)),
            Op::Fand => flags[dst_flag] = Some(read_flag(ins.a)? & (read_flag(ins.b)? ^ invert)),
            Op::For => flags[dst_flag] = Some(read_flag(ins.a)? | (read_flag(ins.b)? ^ invert)),
            Op::Loop => {
                if win != 0 {
                    win -= 1;
                    next = ins.target();
                }
            }
            Op::Halt => {
                return Ok(Outcome {
                    valid: read_flag(ins.a)?,
                    issued,
                    alu_ops,
                })
            }
        }
        pc = next;
    }
}
