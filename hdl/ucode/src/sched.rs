//! From operations to bundles: list scheduling for the dual-issue engine, then registers
//! for the values.
//!
//! Each block ([`crate::ir::Block`]) is scheduled on its own, turn by turn. An operation
//! is ready in a turn once every operation it depends on is placed early enough: the
//! producer of a value, register or flag it reads in an earlier turn (its result lands
//! before this context's next turn); the last reader of a register or flag it overwrites
//! in the same turn or earlier (both slots read at the start of a turn); the last writer
//! of that register or flag in an earlier turn. Of the ready operations, the one with the
//! longest path to the block's end takes its slot: a multiplication the M slot, anything
//! else the A slot. Why list scheduling: the verification is nearly all one long chain
//! of multiplications with additions hanging off it, and a greedy schedule by path
//! length keeps the multiplier busy while the additions fill the other slot.
//!
//! Registers come after: a value lives from the turn it is written to the last turn that
//! reads it (to the loop's end, when a loop reads a value from before it), and values are
//! given the registers of their bank (products the M bank, the rest the A bank) in order
//! of their first turn, reusing a register from the turn its last reader issues. That
//! greedy colouring of intervals is optimal: it fails only if more values of a bank are
//! live at once than the bank has free registers.

use std::collections::{BTreeSet, HashMap};

use crate::ir::{in_m_bank, Block, Dest, End, Node, Opnd};
use crate::isa::{table_a_register, Bundle, Instr, Op, Src, M_BANK_END, REGS};

/// Why a program cannot be scheduled: a defect in the program.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedError {
    /// An operation writes a register of the other slot's bank.
    #[error("block {block}, operation {node}: register {reg} is not in its slot's bank")]
    WrongBank {
        /// Block.
        block: usize,
        /// Operation within the block.
        node: usize,
        /// Register.
        reg: u8,
    },
    /// More values of one bank are live at once than it has registers.
    #[error("turn {turn}: no free register in the {bank} bank")]
    OutOfRegisters {
        /// The bank ("M" or "A").
        bank: &'static str,
        /// The turn.
        turn: usize,
    },
    /// A value is read before any operation writes it.
    #[error("value {0} is read but never written")]
    Undefined(u32),
    /// A block ends in `HALT` before another block.
    #[error("only the last block may halt")]
    EarlyHalt,
}

/// Where a block's bundles are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First bundle.
    pub start: usize,
    /// Bundles.
    pub len: usize,
    /// Whether the block loops back to its start.
    pub looped: bool,
}

/// The scheduled program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// The bundles, in ROM order.
    pub bundles: Vec<Bundle>,
    /// Where each block went.
    pub spans: Vec<Span>,
}

/// A register, flag or value: what dependences are tracked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Res {
    Val(u32),
    Reg(u8),
    Flag(u8),
}

fn operand_reads(o: Opnd, out: &mut Vec<Res>) {
    match o {
        Opnd::Val(v) => out.push(Res::Val(v)),
        Opnd::Pin(r) => out.push(Res::Reg(r)),
        Opnd::Flag(f) => out.push(Res::Flag(f)),
        Opnd::TabA(c) => out.extend((0..16).map(|e| Res::Reg(table_a_register(c, e)))),
        Opnd::Const(_) | Opnd::TabB(_) => {}
    }
}

fn reads(n: &Node) -> Vec<Res> {
    let mut out = Vec::new();
    operand_reads(n.a, &mut out);
    operand_reads(n.b, &mut out);
    if matches!(n.op, Op::Csel | Op::Cneg) {
        out.push(Res::Flag(n.f & 31));
    }
    out
}

fn writes(n: &Node) -> Res {
    match n.dst {
        Dest::Val(v) => Res::Val(v),
        Dest::Pin(r) => Res::Reg(r),
        Dest::Flag(f) => Res::Flag(f),
    }
}

/// Dependences within a block: for each operation, (earlier operation, minimum turn
/// distance).
fn dependences(nodes: &[Node]) -> Vec<Vec<(usize, usize)>> {
    #[derive(Default)]
    struct Track {
        writer: Option<usize>,
        readers: Vec<usize>,
    }
    let mut track: HashMap<Res, Track> = HashMap::new();
    let mut deps = vec![Vec::new(); nodes.len()];
    for (j, n) in nodes.iter().enumerate() {
        for r in reads(n) {
            let t = track.entry(r).or_default();
            if let Some(w) = t.writer {
                deps[j].push((w, 1));
            }
            t.readers.push(j);
        }
        let t = track.entry(writes(n)).or_default();
        for &r in &t.readers {
            if r != j {
                deps[j].push((r, 0));
            }
        }
        if let Some(w) = t.writer {
            deps[j].push((w, 1));
        }
        t.readers.clear();
        t.writer = Some(j);
    }
    deps
}

/// Turn of each operation of one block, and the block's turn count (its end included).
fn schedule_block(nodes: &[Node], end: End) -> (Vec<usize>, usize) {
    let deps = dependences(nodes);
    // Longest path (in turns) from each operation to the block's end.
    let mut height = vec![0usize; nodes.len()];
    for j in (0..nodes.len()).rev() {
        for &(p, w) in &deps[j] {
            height[p] = height[p].max(height[j] + w);
        }
    }
    let mut turn: Vec<Option<usize>> = vec![None; nodes.len()];
    let mut left = nodes.len();
    let mut t = 0usize;
    let mut last_turn = 0usize;
    let mut last_a_used = false;
    while left > 0 {
        let mut used = [false; 2];
        loop {
            let mut placed = false;
            for (slot, is_m) in [(0usize, true), (1, false)] {
                if used[slot] {
                    continue;
                }
                let best = (0..nodes.len())
                    .filter(|&j| turn[j].is_none() && nodes[j].op.m_slot() == is_m)
                    .filter(|&j| {
                        deps[j]
                            .iter()
                            .all(|&(p, w)| turn[p].is_some_and(|tp| tp + w <= t))
                    })
                    .max_by_key(|&j| (height[j], std::cmp::Reverse(j)));
                if let Some(j) = best {
                    turn[j] = Some(t);
                    used[slot] = true;
                    left -= 1;
                    placed = true;
                }
            }
            if !placed {
                break;
            }
        }
        if used[0] || used[1] {
            last_turn = t;
            last_a_used = used[1];
        }
        t += 1;
    }
    let turns: Vec<usize> = turn.into_iter().map(|t| t.unwrap_or(0)).collect();
    let count = if nodes.is_empty() {
        1
    } else {
        match end {
            // LOOP takes the last turn's A slot, or a turn of its own.
            End::Loop | End::Step => last_turn + 1 + usize::from(last_a_used),
            // HALT takes a turn of its own: its M slot must be empty.
            End::Halt(_) => last_turn + 2,
        }
    };
    (turns, count)
}

fn to_src(o: Opnd, regs: &HashMap<u32, u8>) -> Result<Src, SchedError> {
    Ok(match o {
        Opnd::Val(v) => Src::Reg(*regs.get(&v).ok_or(SchedError::Undefined(v))?),
        Opnd::Pin(r) => Src::Reg(r),
        Opnd::Const(i) => Src::Const(i),
        Opnd::TabA(c) => Src::TabA(c),
        Opnd::TabB(c) => Src::TabB(c),
        Opnd::Flag(f) => Src::Reg(f),
    })
}

/// Schedules the blocks into bundles and gives the values registers.
pub fn schedule(blocks: &[Block]) -> Result<Scheduled, SchedError> {
    // Pinned registers are never given to values; pins must be in their slot's bank.
    let mut pinned = BTreeSet::new();
    for (bi, b) in blocks.iter().enumerate() {
        for (ni, n) in b.nodes.iter().enumerate() {
            if let Dest::Pin(r) = n.dst {
                if in_m_bank(r) != n.op.m_slot() || usize::from(r) >= REGS {
                    return Err(SchedError::WrongBank {
                        block: bi,
                        node: ni,
                        reg: r,
                    });
                }
                pinned.insert(r);
            }
        }
        if matches!(b.end, End::Halt(_)) && bi + 1 != blocks.len() {
            return Err(SchedError::EarlyHalt);
        }
    }

    let mut spans = Vec::new();
    let mut placed: Vec<Vec<usize>> = Vec::new();
    let mut start = 0;
    for b in blocks {
        let (turns, len) = schedule_block(&b.nodes, b.end);
        spans.push(Span {
            start,
            len,
            looped: b.end == End::Loop,
        });
        placed.push(turns);
        start += len;
    }

    // Live ranges, in global turns: (first, last, in the M bank).
    let mut live: HashMap<u32, (usize, usize, bool)> = HashMap::new();
    for (bi, b) in blocks.iter().enumerate() {
        for (ni, n) in b.nodes.iter().enumerate() {
            if let Dest::Val(v) = n.dst {
                let g = spans[bi].start + placed[bi][ni];
                live.insert(v, (g, g, n.op.m_slot()));
            }
        }
    }
    for (bi, b) in blocks.iter().enumerate() {
        for (ni, n) in b.nodes.iter().enumerate() {
            for o in [n.a, n.b] {
                let Opnd::Val(v) = o else { continue };
                let g = spans[bi].start + placed[bi][ni];
                let entry = live.get_mut(&v).ok_or(SchedError::Undefined(v))?;
                // A loop reads a value from before it on every pass.
                let last = if spans[bi].looped && entry.0 < spans[bi].start {
                    spans[bi].start + spans[bi].len - 1
                } else {
                    g
                };
                entry.1 = entry.1.max(last);
            }
        }
    }
    let mut order: Vec<(u32, (usize, usize, bool))> = live.into_iter().collect();
    order.sort_by_key(|&(v, (first, _, _))| (first, v));
    // For each register, the last turn its current value is read (None: never used).
    let mut busy: Vec<Option<usize>> = vec![None; REGS];
    let mut regs: HashMap<u32, u8> = HashMap::new();
    for (v, (first, last, m_bank)) in order {
        let bank = if m_bank {
            0..M_BANK_END
        } else {
            M_BANK_END..u8::try_from(REGS).unwrap_or(u8::MAX)
        };
        let r = bank
            .filter(|r| !pinned.contains(r))
            .find(|&r| busy[usize::from(r)].is_none_or(|b| b <= first))
            .ok_or(SchedError::OutOfRegisters {
                bank: if m_bank { "M" } else { "A" },
                turn: first,
            })?;
        busy[usize::from(r)] = Some(last);
        regs.insert(v, r);
    }

    let nop = Bundle {
        m: Instr::NOP,
        a: Instr::NOP,
    };
    let mut bundles = vec![nop; start];
    for (bi, b) in blocks.iter().enumerate() {
        let span = spans[bi];
        for (ni, n) in b.nodes.iter().enumerate() {
            let dst = match n.dst {
                Dest::Val(v) => *regs.get(&v).ok_or(SchedError::Undefined(v))?,
                Dest::Pin(r) => r,
                Dest::Flag(f) => f,
            };
            let ins = Instr {
                op: n.op,
                dst,
                a: to_src(n.a, &regs)?.encode(),
                b: to_src(n.b, &regs)?.encode(),
                f: n.f,
            };
            let bundle = &mut bundles[span.start + placed[bi][ni]];
            if n.op.m_slot() {
                bundle.m = ins;
            } else {
                bundle.a = ins;
            }
        }
        let last = &mut bundles[span.start + span.len - 1];
        last.a = match b.end {
            End::Loop | End::Step => {
                let target = if b.end == End::Loop {
                    span.start
                } else {
                    span.start + span.len
                };
                Instr {
                    op: Op::Loop,
                    dst: 0,
                    a: u16::try_from(target >> 9).unwrap_or(u16::MAX),
                    b: u16::try_from(target & 0x1ff).unwrap_or(0),
                    f: 0,
                }
            }
            End::Halt(f) => Instr {
                op: Op::Halt,
                dst: 0,
                a: Src::Reg(f).encode(),
                b: Src::Const(crate::isa::konst::ZERO).encode(),
                f: 0,
            },
        };
    }
    Ok(Scheduled { bundles, spans })
}
