//! The verification engine's instruction set: what one turn of a context can do.
//!
//! The engine (`hdl/rtl/vigil_ed25519_engine.sv`) is a barrel processor: it holds
//! [`CONTEXTS`](crate) signatures at once and serves one context per clock, round-robin,
//! so a context's next turn comes only after everything it issued has written back. No
//! hazards, no forwarding, no stalls.
//!
//! In one turn a context issues a **bundle** of two instructions ([`Bundle`]): one to
//! the pipelined field multiplier (the M slot: [`Op::Mul`] or [`Op::Nop`]) and one to the
//! small adder unit beside it (the A slot: additions, subtractions, selections, negations,
//! flag operations, `LOOP`, `HALT` or `NOP`). Both slots read their operands at the start
//! of the turn and both write after it, so a bundle never depends on itself. Why dual
//! issue: a verification is about 3,400 multiplications and 3,000 other operations;
//! issuing one of each per turn takes the multiplier's count, not the sum, as the turns a
//! signature needs. The program generator ([`crate::sched`]) packs the bundles.
//!
//! Per context the engine keeps:
//! - 128 field registers (255 bits, always canonical once written), in two banks so that
//!   each has one write port: 0..63, the **M bank**, written only by the M slot; 64..127,
//!   the **A bank**, written only by the A slot. Either slot reads either bank.
//! - The table of multiples of -A, in cached form (Y - X, Y + X, 2d T, 2 Z): entry `e`'s
//!   coordinates 0, 1 and 3 (the adder's results) at A-bank register `64 + 4e + c`, its
//!   coordinate 2 (a product) at M-bank register [`TABLE_T_BASE`]` + e`. Registers
//!   `64 + 4e + 2` are ordinary A-bank registers.
//! - 32 one-bit flags: 0..7 are set when the signature is loaded (see [`flag`]), the rest
//!   the program computes;
//! - the scalars S and k, and a window counter `win` (63 at load) that picks the 4-bit
//!   digits of S and k the table operands use;
//! - a program counter, counting bundles.
//!
//! An instruction is 36 bits: `op[35:32] dst[31:25] a[24:16] b[15:7] f[6:0]`. The `a` and
//! `b` fields name [`Src`] operands; `dst` is a register (ALU ops) or a flag (flag ops);
//! `f[4:0]` names the flag a select or negate tests, and `f[5]` inverts the second
//! operand of a flag AND/OR. `LOOP`'s target is `{a, b}`, a bundle index. A bundle is
//! 72 bits: the M slot's instruction in bits 71:36, the A slot's in 35:0. The tables are
//! read only through the M slot's operand `b`.

/// Instruction width in bits.
pub const INSTR_BITS: u32 = 36;
/// Field registers per context.
pub const REGS: usize = 128;
/// The first register of the -A table.
pub const TABLE_BASE: u8 = 64;
/// Bundle width in bits: the M slot's instruction above the A slot's.
pub const BUNDLE_BITS: u32 = 2 * INSTR_BITS;
/// Registers below this are the M bank (written by the multiplier); the rest, the A bank.
pub const M_BANK_END: u8 = 64;
/// The M-bank register of the -A table's entry 0, coordinate 2 (2d T); entry `e` is at
/// `TABLE_T_BASE + e`.
pub const TABLE_T_BASE: u8 = 48;
/// Flags per context.
pub const FLAGS: usize = 32;
/// Windows of 4 bits that cover a 256-bit scalar; `win` counts down from `WINDOWS - 1`.
pub const WINDOWS: u8 = 64;

/// The flags the engine sets when it loads a signature.
pub mod flag {
    /// Bit 255 of A's encoding (the sign of x).
    pub const SIGN_A: u8 = 0;
    /// Bit 255 of R's encoding.
    pub const SIGN_R: u8 = 1;
    /// A's y (bits 254:0) is at least p: a non-canonical encoding.
    pub const NONCANON_A: u8 = 2;
    /// R's y is at least p.
    pub const NONCANON_R: u8 = 3;
    /// S < L.
    pub const S_CANONICAL: u8 = 4;
    /// The profile is `strict`.
    pub const STRICT: u8 = 5;
    /// The profile is `rfc8032`.
    pub const RFC8032: u8 = 6;
    /// The profile is `zip215`.
    pub const ZIP215: u8 = 7;
    /// Flags the engine sets at load; the program computes the others.
    pub const PRESET: u8 = 8;
}

/// Operations (`op`, bits 35:32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `R[dst] = a * b mod p`.
    Mul = 0,
    /// `R[dst] = a + b mod p`.
    Add = 1,
    /// `R[dst] = a - b mod p`.
    Sub = 2,
    /// `R[dst] = F[f] ? a : b` (through the ALU as an addition of zero).
    Csel = 3,
    /// `R[dst] = F[f] ? -a : a` (through the ALU as a subtraction).
    Cneg = 4,
    /// `F[dst] = (a == b)`, comparing the operands' 255 bits.
    Eq = 5,
    /// `F[dst] = bit 0 of a` (the "negative" sign of a canonical value).
    Odd = 6,
    /// `F[dst] = F[a] & (F[b] ^ f[5])`.
    Fand = 7,
    /// `F[dst] = F[a] | (F[b] ^ f[5])`.
    For = 8,
    /// If `win != 0`: `win -= 1` and jump to `{a, b}`; else fall through.
    Loop = 9,
    /// The verdict is `F[a]`; the context is done.
    Halt = 10,
    /// Nothing: an empty slot of a bundle.
    Nop = 11,
    /// `R[dst] = 2a + b mod p` (the doubling is a shift into the adder).
    Dadd = 12,
    /// `R[dst] = 2a - b mod p`.
    Dsub = 13,
}

impl Op {
    /// The operation with this code, if any.
    pub fn from_code(code: u8) -> Option<Op> {
        Some(match code {
            0 => Op::Mul,
            1 => Op::Add,
            2 => Op::Sub,
            3 => Op::Csel,
            4 => Op::Cneg,
            5 => Op::Eq,
            6 => Op::Odd,
            7 => Op::Fand,
            8 => Op::For,
            9 => Op::Loop,
            10 => Op::Halt,
            11 => Op::Nop,
            12 => Op::Dadd,
            13 => Op::Dsub,
            _ => return None,
        })
    }

    /// Whether the operation sends a result through the multiplier or the adder unit to
    /// a register.
    pub fn uses_alu(self) -> bool {
        matches!(
            self,
            Op::Mul | Op::Add | Op::Sub | Op::Dadd | Op::Dsub | Op::Csel | Op::Cneg
        )
    }

    /// Whether the operation issues from the M slot (the multiplier).
    pub fn m_slot(self) -> bool {
        self == Op::Mul
    }
}

/// Constants and inputs an operand can name ([`Src::Const`]).
pub mod konst {
    /// 0.
    pub const ZERO: u8 = 0;
    /// 1.
    pub const ONE: u8 = 1;
    /// The curve constant d = -121665/121666.
    pub const D: u8 = 2;
    /// 2d.
    pub const D2: u8 = 3;
    /// sqrt(-1) = 2^((p-1)/4).
    pub const SQRT_M1: u8 = 4;
    /// Input: A's y as received (bits 254:0, possibly >= p).
    pub const IN_YA: u8 = 5;
    /// Input: R's y as received.
    pub const IN_YR: u8 = 6;
    /// Number of constant slots the engine decodes.
    pub const COUNT: u8 = 7;
}

/// An operand source: 9 bits, `mode[8:7] index[6:0]`. Operand `a` may be a register or a
/// constant; the tables are read through the M slot's operand `b` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Src {
    /// Register `R[i]` (0..127).
    Reg(u8),
    /// The -A table at the current k digit, coordinate c (0..3): `R[64 + 4 * digit_k + c]`,
    /// or `R[TABLE_T_BASE + digit_k]` for c = 2.
    TabA(u8),
    /// The base-point table (ROM) at the current S digit, coordinate c (0..3).
    TabB(u8),
    /// A constant or input ([`konst`]).
    Const(u8),
}

impl Src {
    /// The 9-bit encoding.
    pub fn encode(self) -> u16 {
        let (mode, index) = match self {
            Src::Reg(i) => (0u16, i),
            Src::TabA(c) => (1, c),
            Src::TabB(c) => (2, c),
            Src::Const(c) => (3, c),
        };
        (mode << 7) | u16::from(index & 0x7f)
    }

    /// Decodes 9 bits.
    pub fn decode(bits: u16) -> Src {
        let index = (bits & 0x7f) as u8;
        match (bits >> 7) & 3 {
            0 => Src::Reg(index),
            1 => Src::TabA(index & 3),
            2 => Src::TabB(index & 3),
            _ => Src::Const(index),
        }
    }
}

/// One instruction, as the fields the engine decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instr {
    /// The operation.
    pub op: Op,
    /// Destination register or flag (7 bits).
    pub dst: u8,
    /// First operand (9 bits; a flag index in its low 5 bits for flag ops).
    pub a: u16,
    /// Second operand (9 bits).
    pub b: u16,
    /// Flag field (7 bits): `f[4:0]` a flag, `f[5]` invert.
    pub f: u8,
}

/// `f[5]`: invert the second flag of [`Op::Fand`] / [`Op::For`].
pub const F_INVERT: u8 = 0x20;

impl Instr {
    /// The 36-bit encoding.
    pub fn encode(&self) -> u64 {
        (u64::from(self.op as u8) << 32)
            | (u64::from(self.dst & 0x7f) << 25)
            | (u64::from(self.a & 0x1ff) << 16)
            | (u64::from(self.b & 0x1ff) << 7)
            | u64::from(self.f & 0x7f)
    }

    /// Decodes 36 bits; `None` for an unknown operation.
    pub fn decode(word: u64) -> Option<Instr> {
        Some(Instr {
            op: Op::from_code(((word >> 32) & 0xf) as u8)?,
            dst: ((word >> 25) & 0x7f) as u8,
            a: ((word >> 16) & 0x1ff) as u16,
            b: ((word >> 7) & 0x1ff) as u16,
            f: (word & 0x7f) as u8,
        })
    }

    /// A `LOOP`'s jump target.
    pub fn target(&self) -> usize {
        (usize::from(self.a) << 9) | usize::from(self.b)
    }
}

/// The register the -A table operand `TabA(c)` reads at digit `digit`.
pub fn table_a_register(c: u8, digit: u8) -> u8 {
    if c & 3 == 2 {
        TABLE_T_BASE + (digit & 15)
    } else {
        TABLE_BASE + 4 * (digit & 15) + (c & 3)
    }
}

/// What one turn of a context issues: an instruction to the multiplier and one to the
/// adder unit (either may be [`Op::Nop`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bundle {
    /// The M slot: [`Op::Mul`] or [`Op::Nop`].
    pub m: Instr,
    /// The A slot: anything but [`Op::Mul`].
    pub a: Instr,
}

impl Instr {
    /// The empty instruction.
    pub const NOP: Instr = Instr {
        op: Op::Nop,
        dst: 0,
        a: 0,
        b: 0,
        f: 0,
    };
}

impl Bundle {
    /// The 72-bit encoding: the M slot in bits 71:36, the A slot in 35:0.
    pub fn encode(&self) -> u128 {
        (u128::from(self.m.encode()) << INSTR_BITS) | u128::from(self.a.encode())
    }

    /// Decodes 72 bits; `None` where either slot's operation is unknown.
    pub fn decode(word: u128) -> Option<Bundle> {
        let mask = (1u128 << INSTR_BITS) - 1;
        let m = u64::try_from((word >> INSTR_BITS) & mask).ok()?;
        let a = u64::try_from(word & mask).ok()?;
        Some(Bundle {
            m: Instr::decode(m)?,
            a: Instr::decode(a)?,
        })
    }

    /// The bundle's instructions that are not [`Op::Nop`].
    pub fn ops(&self) -> impl Iterator<Item = &Instr> {
        [&self.m, &self.a].into_iter().filter(|i| i.op != Op::Nop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_round_trip() {
        for src in [
            Src::Reg(0),
            Src::Reg(127),
            Src::TabA(3),
            Src::TabB(2),
            Src::Const(konst::IN_YR),
        ] {
            assert_eq!(Src::decode(src.encode()), src);
        }
        let i = Instr {
            op: Op::Cneg,
            dst: 99,
            a: Src::TabA(1).encode(),
            b: Src::Const(4).encode(),
            f: 17 | F_INVERT,
        };
        assert_eq!(Instr::decode(i.encode()), Some(i));
        assert!(i.encode() < 1 << INSTR_BITS);
        assert_eq!(Instr::decode(0xf << 32), None);
        let m = Instr {
            op: Op::Mul,
            dst: 63,
            a: Src::Reg(127).encode(),
            b: Src::TabA(2).encode(),
            f: 0,
        };
        let bundle = Bundle { m, a: i };
        assert_eq!(Bundle::decode(bundle.encode()), Some(bundle));
        assert!(bundle.encode() < 1 << BUNDLE_BITS);
        assert_eq!(table_a_register(2, 15), TABLE_T_BASE + 15);
        assert_eq!(table_a_register(3, 1), TABLE_BASE + 7);
    }
}
