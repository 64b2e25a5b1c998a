//! The verification engine's instruction set: what one issue slot can do.
//!
//! The engine (`hdl/rtl/vigil_ed25519_engine.sv`) is a barrel processor: it holds
//! [`CONTEXTS`](crate) signatures at once and issues one instruction per clock, from each
//! context in turn, so a context's next instruction issues only after its previous one
//! has written back. No hazards, no forwarding, no stalls: the pipelined field ALU
//! (multiply, add, subtract mod p) takes one operation every clock from whichever
//! signature's turn it is.
//!
//! Per context the engine keeps:
//! - 128 field registers (255 bits, always canonical once written): 0..63 for working
//!   values, 64..127 for the table of multiples of -A (entry `e`, coordinate `c` at
//!   `64 + 4e + c`);
//! - 32 one-bit flags: 0..7 are set when the signature is loaded (see [`flag`]), the rest
//!   the program computes;
//! - the scalars S and k, and a window counter `win` (63 at load) that picks the 4-bit
//!   digits of S and k the table operands use;
//! - a program counter.
//!
//! An instruction is 36 bits: `op[35:32] dst[31:25] a[24:16] b[15:7] f[6:0]`. The `a` and
//! `b` fields name [`Src`] operands; `dst` is a register (ALU ops) or a flag (flag ops);
//! `f[4:0]` names the flag a select or negate tests, and `f[5]` inverts the second
//! operand of a flag AND/OR. `LOOP`'s target is `{a, b}`.

/// Instruction width in bits.
pub const INSTR_BITS: u32 = 36;
/// Field registers per context.
pub const REGS: usize = 128;
/// The first register of the -A table.
pub const TABLE_BASE: u8 = 64;
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
            _ => return None,
        })
    }

    /// Whether the operation sends a result through the field ALU to a register.
    pub fn uses_alu(self) -> bool {
        matches!(self, Op::Mul | Op::Add | Op::Sub | Op::Csel | Op::Cneg)
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
/// constant; the tables are read through operand `b` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Src {
    /// Register `R[i]` (0..127).
    Reg(u8),
    /// The -A table at the current k digit: `R[64 + 4 * digit_k + c]` (c in 0..4).
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
    }
}
