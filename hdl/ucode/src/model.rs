//! A bit-exact model of one engine context running the program.
//!
//! It executes the encoded bundles with the engine's semantics (both slots read at the
//! start of a turn, operand modes, table digits, flags, the loop counter) in big-integer
//! arithmetic, and it is strict where the hardware is not: reading a register or flag
//! that this signature has not written is an error (in the engine it would hold the
//! previous signature's value), as is a write to the other slot's register bank, a table
//! read through any operand but the M slot's `b`, an unknown instruction, or a program
//! that does not halt. The tests run it against
//! the reference verifiers on every edge case, so the program is known right before the
//! RTL runs it; the RTL's testbench then holds the RTL to the same verdicts.

use crate::field::{self, Fe};
use crate::isa::{
    flag, konst, table_a_register, Bundle, Instr, Op, Src, FLAGS, M_BANK_END, REGS, WINDOWS,
};

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
    /// An instruction in the wrong slot, or writing the other slot's register bank.
    #[error("pc {pc}: {op:?} may not issue from that slot or write register {dst}")]
    WrongSlot {
        /// Program counter.
        pc: usize,
        /// The operation.
        op: Op,
        /// Its destination field.
        dst: u8,
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
    /// Turns (bundles issued), HALT's included: the engine's clocks per signature.
    pub issued: usize,
    /// Operations through the multiplier or the adder unit.
    pub alu_ops: usize,
    /// Of those, multiplications.
    pub mul_ops: usize,
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

/// What one slot's instruction does, computed from the state at the start of the turn.
enum Effect {
    None,
    Reg(usize, Fe),
    Flag(usize, bool),
    Jump(usize),
    Halt(bool),
}

/// One context's state.
struct Context<'a> {
    job: &'a Job,
    regs: Vec<Option<Fe>>,
    flags: [Option<bool>; FLAGS],
    consts: [Fe; konst::COUNT as usize],
    btab: &'a [[Fe; 3]],
    s: Fe,
    k: Fe,
    win: u8,
}

impl Context<'_> {
    fn digit(v: &Fe, win: u8) -> u8 {
        (0..4)
            .map(|i| u8::from(v.bit(4 * u64::from(win) + i)) << i)
            .sum()
    }

    fn reg(&self, pc: usize, i: usize) -> Result<Fe, ModelError> {
        self.regs
            .get(i)
            .cloned()
            .flatten()
            .ok_or(ModelError::UndefinedRegister { pc, reg: i })
    }

    /// Operand `bits`; `tables`: whether this operand may read the tables (the M slot's b).
    fn read(&self, pc: usize, bits: u16, tables: bool) -> Result<Fe, ModelError> {
        let src = Src::decode(bits);
        match src {
            Src::Reg(i) => self.reg(pc, usize::from(i)),
            Src::TabA(c) if tables => {
                let e = Self::digit(&self.k, self.win);
                self.reg(pc, usize::from(table_a_register(c, e)))
            }
            Src::TabB(c) if tables && c < 3 => {
                Ok(self.btab[usize::from(Self::digit(&self.s, self.win))][usize::from(c)].clone())
            }
            Src::Const(i) if i < konst::COUNT => Ok(self.consts[usize::from(i)].clone()),
            _ => Err(ModelError::BadOperand { pc, src }),
        }
    }

    fn flag(&self, pc: usize, i: usize) -> Result<bool, ModelError> {
        self.flags[i & (FLAGS - 1)].ok_or(ModelError::UndefinedFlag {
            pc,
            flag: i & (FLAGS - 1),
        })
    }

    /// The effect of `ins` issued from the M slot (`m`) or the A slot.
    fn exec(&self, pc: usize, ins: &Instr, m: bool) -> Result<Effect, ModelError> {
        let dst_reg = usize::from(ins.dst) & (REGS - 1);
        let wrong = ModelError::WrongSlot {
            pc,
            op: ins.op,
            dst: ins.dst,
        };
        if m != ins.op.m_slot() && ins.op != Op::Nop
            || ins.op.uses_alu() && (dst_reg < usize::from(M_BANK_END)) != m
        {
            return Err(wrong);
        }
        let a = |t| self.read(pc, ins.a, t);
        let b = || self.read(pc, ins.b, m);
        let sel = || self.flag(pc, usize::from(ins.f));
        let fa = || self.flag(pc, usize::from(ins.a));
        let fb = || {
            Ok::<bool, ModelError>(
                self.flag(pc, usize::from(ins.b))? ^ (ins.f & crate::isa::F_INVERT != 0),
            )
        };
        let dst_flag = usize::from(ins.dst) & (FLAGS - 1);
        Ok(match ins.op {
            Op::Nop => Effect::None,
            Op::Mul => Effect::Reg(dst_reg, field::mul(&a(false)?, &b()?)),
            Op::Add => Effect::Reg(dst_reg, field::add(&a(false)?, &b()?)),
            Op::Sub => Effect::Reg(dst_reg, field::sub(&a(false)?, &b()?)),
            Op::Dadd => {
                let v = a(false)?;
                Effect::Reg(dst_reg, field::add(&field::add(&v, &v), &b()?))
            }
            Op::Dsub => {
                let v = a(false)?;
                Effect::Reg(dst_reg, field::sub(&field::add(&v, &v), &b()?))
            }
            Op::Csel => {
                let v = if sel()? { a(false)? } else { b()? };
                Effect::Reg(dst_reg, field::add(&v, &Fe::default()))
            }
            Op::Cneg => {
                let v = a(false)?;
                Effect::Reg(
                    dst_reg,
                    if sel()? {
                        field::sub(&Fe::default(), &v)
                    } else {
                        field::sub(&v, &Fe::default())
                    },
                )
            }
            Op::Eq => Effect::Flag(dst_flag, a(false)? == b()?),
            Op::Odd => Effect::Flag(dst_flag, a(false)?.bit(0)),
            Op::Fand => Effect::Flag(dst_flag, fa()? & fb()?),
            Op::For => Effect::Flag(dst_flag, fa()? | fb()?),
            Op::Loop => Effect::Jump(ins.target()),
            Op::Halt => Effect::Halt(fa()?),
        })
    }
}

/// Runs the encoded bundles `code` on `job`.
pub fn run(code: &[u128], job: &Job) -> Result<Outcome, ModelError> {
    let decoded: Vec<Option<Bundle>> = code.iter().map(|&w| Bundle::decode(w)).collect();
    let mask = field::mask255();
    let btab = field::base_table();
    let mut ctx = Context {
        job,
        regs: vec![None; REGS],
        flags: [None; FLAGS],
        consts: [
            Fe::default(),
            Fe::from(1u8),
            field::d().clone(),
            field::d2(),
            field::sqrt_m1().clone(),
            field::from_le(&job.a) & &mask,
            field::from_le(&job.r) & &mask,
        ],
        btab,
        s: field::from_le(&job.s),
        k: field::from_le(&job.k),
        win: WINDOWS - 1,
    };
    for (f, v) in ctx.flags.iter_mut().zip(preset_flags(ctx.job)) {
        *f = Some(v);
    }
    let mut pc = 0usize;
    let mut issued = 0usize;
    let mut alu_ops = 0usize;
    let mut mul_ops = 0usize;
    // Far above the program's real length; only a runaway program gets here.
    let limit = 100_000;
    loop {
        let Some(Some(bundle)) = decoded.get(pc) else {
            return Err(ModelError::NoHalt { pc, steps: issued });
        };
        if issued >= limit {
            return Err(ModelError::NoHalt { pc, steps: issued });
        }
        issued += 1;
        alu_ops += bundle.ops().filter(|i| i.op.uses_alu()).count();
        mul_ops += usize::from(bundle.m.op == Op::Mul);
        // Both slots read the state at the start of the turn; then both write.
        let effects = [
            ctx.exec(pc, &bundle.m, true)?,
            ctx.exec(pc, &bundle.a, false)?,
        ];
        let mut next = pc + 1;
        for effect in effects {
            match effect {
                Effect::None => {}
                Effect::Reg(r, v) => ctx.regs[r] = Some(v),
                Effect::Flag(f, v) => ctx.flags[f] = Some(v),
                Effect::Jump(target) => {
                    if ctx.win != 0 {
                        ctx.win -= 1;
                        next = target;
                    }
                }
                Effect::Halt(valid) => {
                    return Ok(Outcome {
                        valid,
                        issued,
                        alu_ops,
                        mul_ops,
                    })
                }
            }
        }
        pc = next;
    }
}
