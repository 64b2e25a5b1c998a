//! The program before scheduling: operations on values, in blocks.
//!
//! [`crate::program`] writes Ed25519 verification as a list of operations whose results
//! are mostly *values* (each written once, like SSA) rather than registers: that leaves
//! the scheduler ([`crate::sched`]) free to move any operation as early as its inputs
//! allow and to pair a multiplication with an addition in one turn, with no false
//! dependence on a reused scratch register. Registers are given to the values after
//! scheduling. Only what must sit at a fixed place is pinned to a register: the -A table
//! (the engine addresses it by digit) and the accumulator that the loop carries from one
//! window to the next.

use crate::isa::{Op, M_BANK_END};

/// An operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opnd {
    /// A value: the result of an earlier operation.
    Val(u32),
    /// A register the program places itself.
    Pin(u8),
    /// A constant or input ([`crate::isa::konst`]).
    Const(u8),
    /// The -A table at k's digit, coordinate c.
    TabA(u8),
    /// The base-point table at S's digit, coordinate c.
    TabB(u8),
    /// A flag (the operands of `FAND`, `FOR` and `HALT`).
    Flag(u8),
}

/// Where an operation's result goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    /// A new value.
    Val(u32),
    /// A register the program places itself.
    Pin(u8),
    /// A flag.
    Flag(u8),
}

/// One operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    /// The operation (never `LOOP`, `HALT` or `NOP`: a block's end says those).
    pub op: Op,
    /// Its result.
    pub dst: Dest,
    /// First operand.
    pub a: Opnd,
    /// Second operand.
    pub b: Opnd,
    /// The flag a select or negate tests, and [`crate::isa::F_INVERT`].
    pub f: u8,
}

/// How a block ends, in the A slot of its last bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `LOOP` to the block's first bundle while `win != 0` (and `win -= 1`).
    Loop,
    /// `LOOP` to the next bundle: only `win -= 1`, after a window done outside the loop.
    Step,
    /// `HALT` with this flag as the verdict.
    Halt(u8),
}

/// A straight run of operations and how it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The operations, in an order that respects every dependence.
    pub nodes: Vec<Node>,
    /// Its end.
    pub end: End,
}

/// Whether `r` is in the M bank (written only by multiplications).
pub fn in_m_bank(r: u8) -> bool {
    r < M_BANK_END
}

/// Builds blocks: each operation returns its result as a new value.
#[derive(Debug, Default)]
pub struct Builder {
    blocks: Vec<Block>,
    nodes: Vec<Node>,
    values: u32,
}

impl Builder {
    fn node(&mut self, op: Op, dst: Dest, a: Opnd, b: Opnd, f: u8) {
        self.nodes.push(Node { op, dst, a, b, f });
    }

    fn value(&mut self, op: Op, a: Opnd, b: Opnd, f: u8) -> Opnd {
        let v = self.values;
        self.values += 1;
        self.node(op, Dest::Val(v), a, b, f);
        Opnd::Val(v)
    }

    /// `a * b`.
    pub fn mul(&mut self, a: Opnd, b: Opnd) -> Opnd {
        self.value(Op::Mul, a, b, 0)
    }
    /// `a + b`.
    pub fn add(&mut self, a: Opnd, b: Opnd) -> Opnd {
        self.value(Op::Add, a, b, 0)
    }
    /// `a - b`.
    pub fn sub(&mut self, a: Opnd, b: Opnd) -> Opnd {
        self.value(Op::Sub, a, b, 0)
    }
    /// `2a + b`.
    pub fn dadd(&mut self, a: Opnd, b: Opnd) -> Opnd {
        self.value(Op::Dadd, a, b, 0)
    }
    /// `2a - b`.
    pub fn dsub(&mut self, a: Opnd, b: Opnd) -> Opnd {
        self.value(Op::Dsub, a, b, 0)
    }
    /// `F[f] ? a : b`.
    pub fn csel(&mut self, f: u8, a: Opnd, b: Opnd) -> Opnd {
        self.value(Op::Csel, a, b, f)
    }
    /// `F[f] ? -a : a`.
    pub fn cneg(&mut self, f: u8, a: Opnd) -> Opnd {
        self.value(Op::Cneg, a, Opnd::Const(crate::isa::konst::ZERO), f)
    }
    /// Register `r` = the result of `op` on `a` and `b` (`r` in the bank of `op`'s slot).
    pub fn pin(&mut self, r: u8, op: Op, a: Opnd, b: Opnd) {
        self.node(op, Dest::Pin(r), a, b, 0);
    }
    /// `F[fd] = (a == b)`.
    pub fn eq(&mut self, fd: u8, a: Opnd, b: Opnd) {
        self.node(Op::Eq, Dest::Flag(fd), a, b, 0);
    }
    /// `F[fd] = a is odd`.
    pub fn odd(&mut self, fd: u8, a: Opnd) {
        self.node(
            Op::Odd,
            Dest::Flag(fd),
            a,
            Opnd::Const(crate::isa::konst::ZERO),
            0,
        );
    }
    /// `F[fd] = F[fa] op (F[fb] ^ invert)` for `op` [`Op::Fand`] or [`Op::For`].
    pub fn flags(&mut self, op: Op, fd: u8, fa: u8, fb: u8, invert: bool) {
        let f = if invert { crate::isa::F_INVERT } else { 0 };
        self.node(op, Dest::Flag(fd), Opnd::Flag(fa), Opnd::Flag(fb), f);
    }
    /// Ends the current block.
    pub fn end(&mut self, end: End) {
        let nodes = std::mem::take(&mut self.nodes);
        self.blocks.push(Block { nodes, end });
    }
    /// The blocks ended so far.
    pub fn finish(self) -> Vec<Block> {
        self.blocks
    }
}
